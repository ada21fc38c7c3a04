// Draw every <pre class="mermaid"> on the page with the vendored Mermaid. "strict": labels are
// text only (no HTML, no clicks), so a label in a flow file can never run script here.
mermaid.initialize({ startOnLoad: true, securityLevel: "strict", theme: "neutral",
  flowchart: { htmlLabels: false, useMaxWidth: true } });
