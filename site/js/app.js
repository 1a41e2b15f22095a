// Classic deferred script: marks the document as loaded by script, to show scripts run.
document.documentElement.classList.add('js');
