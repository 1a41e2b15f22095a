// The other three ways a server pushes data, side by side with the EventSource column: a
// WebSocket (over this page's HTTP/2 connection when the server offers RFC 8441), a streamed
// response read line by line (fetch + ReadableStream), and long-polling. The same change
// arrives in every column with the same id.
const columns = {};
for (const name of ['ws', 'stream', 'poll']) {
  columns[name] = {
    state: document.getElementById(`${name}-state`),
    log: document.getElementById(`${name}-log`),
  };
}

function note(name, kind, text) {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = `${new Date().toLocaleTimeString()} ${kind}${text ? ': ' + text : ''}`;
  columns[name].log.prepend(item);
}

function show(name, state) {
  columns[name].state.textContent = state;
}

// Messages are a change ({id, path, kind}) or a reset ({reset: true, last_id}).
function got(name, message) {
  if (message.reset) return note(name, 'reset', `missed changes: resume after #${message.last_id}`);
  note(name, 'change', `${message.kind} ${message.path} (#${message.id})`);
}

const feedUrl = (path) => new URL(`/.h2push/${path}`, location.href);

function webSocket(last) {
  const url = feedUrl('ws');
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (last) url.searchParams.set('last-event-id', last);
  const socket = new WebSocket(url);
  socket.onopen = () => { show('ws', 'open'); note('ws', 'open', url.href); };
  socket.onmessage = (e) => {
    const message = JSON.parse(e.data);
    last = message.reset ? message.last_id : message.id;
    got('ws', message);
  };
  socket.onclose = (e) => {
    show('ws', `closed (${e.code}), reconnecting`);
    setTimeout(() => webSocket(last), 2000);
  };
}

async function streamed(last) {
  const url = feedUrl('stream');
  if (last) url.searchParams.set('last-event-id', last);
  try {
    const response = await fetch(url, { cache: 'no-store' });
    show('stream', `open (${response.status})`);
    note('stream', 'open', url.href);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines.filter((l) => l)) {
        const message = JSON.parse(line);
        last = message.reset ? message.last_id : message.id;
        got('stream', message);
      }
    }
  } catch (err) {
    note('stream', 'error', String(err));
  }
  show('stream', 'ended, reconnecting');
  setTimeout(() => streamed(last), 2000);
}

async function longPoll() {
  show('poll', 'polling');
  // An id from the future is answered at once with a reset naming the latest id.
  let after = '18446744073709551615';
  for (;;) {
    try {
      const answer = await (await fetch(feedUrl(`poll?after=${after}`), { cache: 'no-store' })).json();
      if (after !== '18446744073709551615') {
        if (answer.reset) got('poll', { reset: true, last_id: answer.last_id });
        answer.events.forEach((change) => got('poll', change));
      }
      after = answer.last_id;
    } catch (err) {
      note('poll', 'error', String(err));
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

webSocket(0);
streamed(0);
longPoll();
