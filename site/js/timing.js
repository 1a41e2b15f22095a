// After `load`, list what this page fetched and what started each fetch. Chromium reports
// `early-hints` as the initiatorType of a resource it fetched because of a 103 response.
function render() {
  const body = document.querySelector('#timing tbody');
  const entries = performance.getEntriesByType('resource');
  const lines = [];
  for (const e of entries) {
    const path = new URL(e.name).pathname + new URL(e.name).search;
    lines.push(`${path} ${e.initiatorType}`);
    if (body) {
      const row = document.createElement('tr');
      for (const text of [path, e.initiatorType, e.duration.toFixed(1)]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      body.append(row);
    }
  }
  // A machine-readable copy, for tests that dump the DOM.
  const out = document.createElement('pre');
  out.id = 'resource-timing';
  out.hidden = true;
  out.textContent = lines.join('\n');
  document.body.append(out);
}
if (document.readyState === 'complete') {
  render();
} else {
  addEventListener('load', render);
}
