// Classic deferred script: marks the document as loaded by script, to show scripts run.
document.documentElement.classList.add('js');
// Examples name this server's own origin, whatever port it was started on.
for (const el of document.querySelectorAll('.origin')) el.textContent = location.origin;
