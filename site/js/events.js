// The article's EventSource example against h2push's change feed, with every state shown on the
// page: open, message (unnamed events), change (the named event h2push sends), reset, error.
const stateEl = document.getElementById('state');
const opensEl = document.getElementById('opens');
const lastIdEl = document.getElementById('last-id');
const logEl = document.getElementById('log');
let opens = 0;

function show(state) {
  stateEl.textContent = state;
  document.documentElement.dataset.feed = state;
}

function log(kind, text, id) {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = `${new Date().toLocaleTimeString()} ${kind}${text ? ': ' + text : ''}`;
  logEl.prepend(item);
  if (id) lastIdEl.textContent = id;
}

const feed = new EventSource('/.h2push/events');
feed.onopen = () => {
  opens += 1;
  opensEl.textContent = opens;
  show('open');
  log(opens > 1 ? 'reconnected' : 'open', feed.url);
};
feed.onmessage = (e) => log('message', e.data, e.lastEventId);
feed.addEventListener('change', (e) => {
  const change = JSON.parse(e.data);
  log('change', `${change.kind} ${change.path} (#${change.id})`, e.lastEventId);
});
feed.addEventListener('reset', (e) => log('reset', 'missed changes: assume everything changed', e.lastEventId));
feed.onerror = () => {
  const state = feed.readyState === EventSource.CONNECTING ? 'reconnecting' : 'closed';
  show(state);
  log('error', `connection lost, ${state}`);
};
