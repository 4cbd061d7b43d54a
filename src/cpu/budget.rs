//! How much memory the CPU engine may take: refused configurations never start allocating.

use crate::model::{AttentionMemory, MemoryBudget};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Natively a model past 16 GiB (a billion parameters with gradients and AdamW moments) would
/// take minutes per step on the CPU engine, so 16 GiB is the cap, and at most half of the
/// machine's memory where the system says how much it has (Linux).
#[cfg(not(target_arch = "wasm32"))]
pub fn memory_budget() -> MemoryBudget {
    const CAP: f64 = 16.0 * GIB;
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| mem_total_bytes(&info));
    let (total, owner) = match machine {
        Some(bytes) if bytes / 2.0 < CAP => (
            bytes / 2.0,
            "the CPU engine (half of this machine's memory)",
        ),
        _ => (
            CAP,
            "the CPU engine (at most 16 GiB: a larger model takes minutes a step)",
        ),
    };
    MemoryBudget {
        total,
        largest_buffer: total,
        owner: owner.into(),
        attention: AttentionMemory::Kept,
    }
}

/// In a page, [`wasm_budget`].
#[cfg(target_arch = "wasm32")]
pub fn memory_budget() -> MemoryBudget {
    wasm_budget()
}

/// The page's CPU engine: WebAssembly's 32-bit memory, 4 GiB, less 512 MiB of headroom for the
/// page's own data (the corpus, histories, charts); one allocation can be at most 2 GiB
/// (`isize::MAX`). Defined on every target so that native tests check the page's limits.
pub fn wasm_budget() -> MemoryBudget {
    MemoryBudget {
        total: 3.5 * GIB,
        largest_buffer: 2.0 * GIB,
        owner: "the page's CPU engine (WebAssembly's 4 GiB, less 512 MiB for the page)".into(),
        attention: AttentionMemory::Kept,
    }
}

/// `MemTotal` of /proc/meminfo ("MemTotal:       24557000 kB") in bytes.
#[cfg(any(not(target_arch = "wasm32"), test))]
fn mem_total_bytes(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_reads_the_total() {
        let info = "MemTotal:       24557000 kB\nMemFree:        1000 kB\n";
        assert_eq!(mem_total_bytes(info), Some(24_557_000.0 * 1024.0));
        assert_eq!(mem_total_bytes("nothing"), None);
    }

    #[test]
    fn the_budget_is_at_most_16_gib() {
        let budget = memory_budget();
        assert!(
            budget.total > 0.0 && budget.total <= 16.0 * GIB,
            "{budget:?}"
        );
    }
}
