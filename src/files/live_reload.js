
  // The transport: WebSocket when it connects, else Server-Sent Events, else long-polling.
  // Which one is said once in the console. Every change carries the same JSON.
  const base = new URL(".", new URL(FEED, location.href));
  const say = (how) => console.info(`h2push live reload: ${how}`);
  const page = (p) => (p.endsWith("/") ? p + "index.html" : p);
  const on = (path, elements, attr) =>
    [...elements].filter((e) => e[attr] && new URL(e[attr], location.href).pathname === path);
  let last = 0;
  const apply = (change) => {
    last = change.id;
    if (change.path.endsWith(".css")) {
      const all = document.querySelectorAll('link[rel~="stylesheet"]');
      const linked = on(change.path, all, "href");
      // An @import-ed sheet has no link of its own: refresh every sheet.
      for (const link of linked.length ? linked : all) {
        const url = new URL(link.href);
        url.searchParams.set("h2push-reload", change.id);
        link.href = url.href;
      }
    } else if (page(change.path) === page(location.pathname)
        || on(change.path, document.scripts, "src").length) {
      location.reload();
    }
  };
  // A reset: changes were missed that cannot be told, so assume everything changed.
  const handle = (message) => (message.reset ? location.reload() : apply(message));
  const viaWebSocket = (again) => {
    const url = new URL("ws", base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (last) url.searchParams.set("last-event-id", last);
    let socket;
    try { socket = new WebSocket(url); } catch { return viaEventSource(); }
    let opened = false;
    socket.onopen = () => { opened = true; if (!again) say("WebSocket"); };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = () => (opened ? setTimeout(() => viaWebSocket(true), 2000) : viaEventSource());
  };
  const viaEventSource = () => {
    if (!window.EventSource) return viaPoll();
    const feed = new EventSource(FEED);
    let opened = false;
    feed.onopen = () => { if (!opened) say("Server-Sent Events"); opened = true; };
    feed.addEventListener("change", (event) => apply(JSON.parse(event.data)));
    feed.addEventListener("reset", () => location.reload());
    feed.onerror = () => { if (!opened) { feed.close(); viaPoll(); } };
  };
  const viaPoll = async () => {
    say("long-poll");
    // An id from the future answers at once with a reset naming the latest id: start there.
    let after = last || "18446744073709551615";
    for (;;) {
      try {
        const answer = await (await fetch(new URL(`poll?after=${after}`, base))).json();
        if (answer.reset && after !== "18446744073709551615") return location.reload();
        answer.events.forEach(apply);
        after = answer.last_id;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  };
  if (window.WebSocket) viaWebSocket(false); else viaEventSource();
