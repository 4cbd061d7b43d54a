//! Two pieces of independent work at once: natively on two threads (the benchmark machine's two
//! cores, as PyTorch's two threads), on the page's WebAssembly (one thread) one after the other.

/// `(a(), b())`, natively with `b` on a scoped thread while this thread runs `a`.
pub fn join<A, B: Send>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::scope(|scope| {
            let second = scope.spawn(b);
            let first = a();
            // A panic in `b` is a bug in the op it runs: pass it on unchanged.
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        (a(), b())
    }
}
