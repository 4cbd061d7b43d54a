// The page's entry: a file of its own (not an inline script) so that the Content-Security-Policy
// in index.html can allow only the page's own scripts.
import init from "./archlab.js";
init().catch((error) => {
  const warning = document.createElement("p");
  warning.className = "warning";
  warning.textContent = "archlab could not start: " + String(error);
  document.body.append(warning);
});
