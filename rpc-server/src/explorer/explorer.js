// The Bitverse explorer page: one WebSocket to the node that served it, JSON-RPC calls over it,
// and a bv_subscribeNewHeads subscription that redraws what is on screen when a block arrives
// (never polling). Routes live in the URL's fragment: #/ (home), #/chain/ID, #/block/HASH,
// #/keyspace/NAME, #/key/KEY, #/account/ADDRESS. Everything from the chain is put on the page
// as text nodes, never as HTML.
'use strict';

/** Base units per coin, as the CLI prints amounts (1 BV = 10^9 base units). */
const BASE_UNITS_PER_COIN = 1000000000n;
/** Reconnect delay after the WebSocket closes. */
const RECONNECT_MS = 2000;
/** Blocks listed per chain on the home page. */
const RECENT_BLOCKS = 10;
/** Entries per browse list on the home page. */
const BROWSE_LIMIT = 20;
/** Most value bytes shown before "show all". */
const VALUE_PREVIEW_BYTES = 4096;
/** Most proof hex digits shown before "show all". */
const PROOF_PREVIEW_HEX = 1024;
/** Calls waiting for an answer; past it a call fails at once rather than queue for ever. */
const PENDING_CALLS_MAX = 256;

const state = {
  socket: null,
  nextId: 1,
  pending: new Map(),
  status: null,
  redrawQueued: false,
  rendering: 0,
  /** The home page's browse filter (bv_browse's `search`), kept across redraws. */
  browseSearch: '',
};
/** Pause after the last keystroke in the browse filter before asking the node. */
const FILTER_DEBOUNCE_MS = 200;

// ---- DOM helpers -------------------------------------------------------------------------

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function link(href, text, attrs) {
  return el('a', Object.assign({ href }, attrs || {}), text);
}

function section(title, attrs, ...children) {
  return el('section', attrs, el('h2', {}, title), ...children);
}

function table(headers, rows, numeric) {
  const numericSet = new Set(numeric || []);
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { class: numericSet.has(i) ? 'num' : null }, h)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) => el('td', { class: numericSet.has(i) ? 'num' : null }, c))))));
}

function definitions(pairs) {
  return el('dl', {}, pairs.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function shortHash(hash) {
  return hash ? hash.slice(0, 12) + '…' : '';
}

function hashLink(hash) {
  return link('#/block/' + hash, shortHash(hash), { class: 'mono', title: hash });
}

function keyLink(key) {
  return link('#/key/' + encodeURIComponent(key), key, { class: 'key-link' });
}

function keyspaceLink(name) {
  return link('#/keyspace/' + encodeURIComponent(name), name, { class: 'keyspace-link' });
}

function accountLink(address) {
  return link('#/account/' + address, address.slice(0, 14) + '…', { class: 'mono account-link', title: address });
}

function chainLink(chain) {
  return link('#/chain/' + chain, chain);
}

/** A base-unit decimal string as coins, like the CLI: `12.5 BV`. */
function coins(text) {
  let units;
  try {
    units = BigInt(text);
  } catch (e) {
    return String(text);
  }
  const whole = units / BASE_UNITS_PER_COIN;
  let fraction = (units % BASE_UNITS_PER_COIN).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction} BV` : `${whole} BV`;
}

/** A byte count as people read it, as `bitverse browse` prints it. */
function bytes(count) {
  if (count < 1024) return `${count} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = count / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${(Math.floor(value * 10) / 10).toFixed(1)} ${units[unit]}`;
}

function timeText(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** A value as text when it is printable UTF-8, else as hex. */
function valueText(bytesIn) {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytesIn);
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { kind: 'text', text };
  } catch (e) {
    // Not UTF-8: shown as hex below.
  }
  return { kind: 'hex', text: Array.from(bytesIn, (b) => b.toString(16).padStart(2, '0')).join('') };
}

/** A long text in a <pre>, cut to `preview` characters with a button to show the rest. */
function expandable(text, preview, attrs) {
  const pre = el('pre', attrs, text.length > preview ? text.slice(0, preview) + '…' : text);
  if (text.length <= preview) return pre;
  const button = el('button', { type: 'button' }, `show all ${text.length} characters`);
  button.addEventListener('click', () => {
    pre.textContent = text;
    button.remove();
  });
  return el('div', {}, pre, button);
}

// ---- JSON-RPC over one WebSocket ---------------------------------------------------------

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/`);
  state.socket = socket;
  socket.addEventListener('open', async () => {
    setLive(true);
    try {
      state.status = await call('bv_status', []);
      showNetwork();
      await call('bv_subscribeNewHeads', ['root']);
    } catch (e) {
      showError(e);
    }
    render();
  });
  socket.addEventListener('message', (event) => onMessage(event.data));
  socket.addEventListener('close', () => {
    setLive(false);
    for (const { reject } of state.pending.values()) reject(new Error('connection closed'));
    state.pending.clear();
    setTimeout(connect, RECONNECT_MS);
  });
}

/** The header's line on the node: its network, whether it dev-seals, the root's height. */
function showNetwork() {
  const { network, dev, height } = state.status;
  document.getElementById('network').textContent =
    `${network} network${dev ? ', dev sealing' : ''} · root at ${height}`;
}

function setLive(on) {
  const live = document.getElementById('live');
  live.textContent = on ? 'live' : 'disconnected';
  live.classList.toggle('off', !on);
}

function call(method, params) {
  return new Promise((resolve, reject) => {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
      reject(new Error('not connected to the node'));
      return;
    }
    if (state.pending.size >= PENDING_CALLS_MAX) {
      reject(new Error('too many calls waiting for the node'));
      return;
    }
    const id = state.nextId;
    state.nextId += 1;
    state.pending.set(id, { resolve, reject });
    state.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

function onMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (message.id !== undefined && state.pending.has(message.id)) {
    const { resolve, reject } = state.pending.get(message.id);
    state.pending.delete(message.id);
    if (message.error) reject(new Error(`${message.error.message} (${message.error.code})`));
    else resolve(message.result);
    return;
  }
  if (message.method === 'bv_newHead') onNewHead(message.params.result);
}

/** A new root head: the header says so, and the view on screen is drawn again. */
function onNewHead(head) {
  if (state.status) {
    state.status.height = head.height;
    showNetwork();
  }
  // One redraw at a time; heads that arrive meanwhile are covered by one more.
  if (state.redrawQueued) return;
  state.redrawQueued = true;
  setTimeout(() => {
    state.redrawQueued = false;
    render(true);
  }, 100);
}

// ---- Views -------------------------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const slash = hash.indexOf('/');
  if (slash < 0) return { view: hash || 'home', arg: '' };
  return { view: hash.slice(0, slash), arg: decodeURIComponent(hash.slice(slash + 1)) };
}

const VIEWS = {
  home: homeView,
  chain: chainView,
  block: blockView,
  keyspace: keyspaceView,
  key: keyView,
  account: accountView,
};

/** Draws the route's view. `live` redraws (after a new head) keep the scroll position. */
async function render(live) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  const { view, arg } = route();
  const draw = VIEWS[view] || homeView;
  const ticket = ++state.rendering;
  let nodes;
  try {
    nodes = await draw(arg);
  } catch (e) {
    nodes = [section('Error', { class: 'wide' }, el('p', { class: 'error' }, String(e.message || e)))];
  }
  // A later render started meanwhile: its view wins.
  if (ticket !== state.rendering) return;
  const main = document.getElementById('view');
  const scroll = window.scrollY;
  const filterFocused = document.activeElement && document.activeElement.id === 'browse-filter';
  main.replaceChildren(...nodes);
  if (filterFocused) document.getElementById('browse-filter')?.focus();
  main.dataset.view = view;
  main.dataset.rendered = String(ticket);
  if (live) window.scrollTo(0, scroll);
}

function showError(e) {
  const main = document.getElementById('view');
  main.replaceChildren(section('Error', { class: 'wide' }, el('p', { class: 'error' }, String(e.message || e))));
}

async function homeView() {
  const [chains, browse] = await Promise.all([
    call('bv_chains', []), call('bv_browse', [state.browseSearch, BROWSE_LIMIT])]);
  const recent = await Promise.all(chains.map((c) => call('bv_getRecentBlocks', [c.chain, c.chain === 'root' ? RECENT_BLOCKS : 3])));
  const browseBox = el('div', { id: 'browse-lists', class: 'browse-lists' }, browseSections(browse));
  return [
    section('Tree of chains', { class: 'wide', id: 'tree' }, treeDrawing(chains), chainsTable(chains)),
    section('Recent blocks', { id: 'recent-blocks' }, blocksTable(recent.flat())),
    section('Browse', { id: 'browse' }, el('p', { class: 'muted' },
      'What is on the chains this node holds: keyspaces, transformations published, the keys read and written most.'),
    browseFilter(browseBox)),
    browseBox,
  ];
}

/** The filter over the browse lists: asks bv_browse again and redraws only the lists. */
function browseFilter(browseBox) {
  const input = el('input', {
    id: 'browse-filter', type: 'search', value: state.browseSearch,
    placeholder: 'filter by name, owner or key', 'aria-label': 'Filter the browse lists',
  });
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      state.browseSearch = input.value;
      try {
        const browse = await call('bv_browse', [state.browseSearch, BROWSE_LIMIT]);
        browseBox.replaceChildren(...browseSections(browse));
      } catch (e) {
        browseBox.replaceChildren(el('p', { class: 'error' }, String(e.message || e)));
      }
    }, FILTER_DEBOUNCE_MS);
  });
  return input;
}

function chainsTable(chains) {
  const shown = (h) => (h === null || h === undefined ? '–' : String(h));
  return table(['chain', 'depth', 'height', 'anchored', 'final', 'tracked', 'tip'],
    chains.map((c) => [chainLink(c.chain), c.depth, c.height, shown(c.anchored_height), shown(c.final_height),
      c.tracked ? 'yes' : 'no', hashLink(c.tip)]), [1, 2, 3, 4]);
}

/** The binary tree of chains: a chain of depth d and prefix p sits at x = (p + ½) / 2^d. */
function treeDrawing(chains) {
  const NS = 'http://www.w3.org/2000/svg';
  const width = 900;
  const rowHeight = 70;
  const maxDepth = chains.reduce((m, c) => Math.max(m, c.depth), 0);
  const height = (maxDepth + 1) * rowHeight + 20;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'tree');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'the tree of chains');
  const position = (chain, depth) => {
    const prefix = chain === 'root' ? 0 : parseInt(chain, 2);
    return { x: ((prefix + 0.5) / 2 ** depth) * width, y: depth * rowHeight + 24 };
  };
  const byName = new Map(chains.map((c) => [c.chain, c]));
  const svgEl = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  for (const c of chains) {
    if (c.chain === 'root') continue;
    const parentName = c.depth === 1 ? 'root' : c.chain.slice(0, -1);
    const parent = byName.get(parentName);
    const from = position(parentName, c.depth - 1);
    const to = position(c.chain, c.depth);
    const anchored = parent && c.anchored_height !== null && c.anchored_height !== undefined;
    svg.append(svgEl('line', { x1: from.x, y1: from.y, x2: to.x, y2: to.y, class: anchored ? 'anchored' : '' }));
  }
  for (const c of chains) {
    const { x, y } = position(c.chain, c.depth);
    const group = svgEl('a', { href: '#/chain/' + c.chain, class: 'tree-node', 'data-chain': c.chain });
    group.append(svgEl('circle', { cx: x, cy: y, r: 9, class: c.tracked ? 'tracked' : 'untracked' }));
    group.append(svgEl('text', { x, y: y + 24 }, `${c.chain} · ${c.height}`));
    const anchored = c.chain === 'root' ? '' : `anchored ${c.anchored_height === null ? '–' : c.anchored_height}`;
    if (anchored) group.append(svgEl('text', { x, y: y + 37, class: 'sub' }, anchored));
    const title = svgEl('title', {}, `chain ${c.chain}: height ${c.height}, ${c.tracked ? 'tracked' : 'not tracked'}`);
    group.append(title);
    svg.append(group);
  }
  return svg;
}

function blocksTable(blocks) {
  if (!blocks.length) return el('p', { class: 'muted' }, 'No blocks.');
  return table(['chain', 'height', 'block', 'txs', 'anchors', 'time'],
    blocks.map((b) => [chainLink(b.chain), b.height, link('#/block/' + b.hash, shortHash(b.hash),
      { class: 'mono block-link', 'data-height': b.height, 'data-chain': b.chain, title: b.hash }),
    b.tx_count, b.anchor_count, timeText(b.time_ms)]), [1, 3, 4]);
}

function browseSections(browse) {
  const indexed = browse.indexed.map((c) => `${c.chain} at ${c.height}`).join(', ');
  return [
    section('Keyspaces', { id: 'keyspaces' },
      browse.keyspaces.length
        ? table(['name', 'chain', 'size', 'quota', 'script', 'last write'], browse.keyspaces.map((k) => [
          keyspaceLink(k.name), chainLink(k.chain), bytes(k.size_bytes), bytes(k.quota_bytes),
          k.script_hash ? el('span', { class: 'mono', title: k.script_hash }, shortHash(k.script_hash)) : 'owner-only',
          k.last_write_height === null ? '–' : String(k.last_write_height)]), [2, 3, 5])
        : el('p', { class: 'muted' }, 'No keyspaces yet.'),
      el('p', { class: 'muted' }, `Indexed: ${indexed}`)),
    section('Transformations', { id: 'transformations' },
      browse.transformations.length
        ? table(['key', 'size', 'module', 'height'], browse.transformations.map((t) => [
          keyLink(t.key), bytes(t.size_bytes), el('span', { class: 'mono', title: t.module_hash }, shortHash(t.module_hash)),
          t.height]), [1, 3])
        : el('p', { class: 'muted' }, 'No transformations published yet.')),
    section('Most read', { id: 'most-read' },
      browse.most_read.length
        ? table(['key', 'reads'], browse.most_read.map((r) => [keyLink(r.key), r.count]), [1])
        : el('p', { class: 'muted' }, 'No reads served yet.')),
    section('Most written', { id: 'most-written' },
      browse.most_written.length
        ? table(['key', 'writes', 'chain', 'last write'], browse.most_written.map((w) => [
          keyLink(w.key), w.count, chainLink(w.chain), w.last_write_height]), [1, 3])
        : el('p', { class: 'muted' }, 'No writes yet.')),
  ];
}

async function chainView(chain) {
  const blocks = await call('bv_getRecentBlocks', [chain, 50]);
  return [section(`Chain ${chain}: recent blocks`, { class: 'wide', id: 'recent-blocks' }, blocksTable(blocks))];
}

async function blockView(hash) {
  const block = await call('bv_getBlockByHash', [hash]);
  if (!block) return [section('Block', { class: 'wide' }, el('p', {}, `No block ${hash} on this node.`))];
  const details = definitions([
    ['chain', chainLink(block.chain)],
    ['height', String(block.height)],
    ['hash', el('code', {}, block.hash)],
    ['parent', block.height > 0 ? hashLink(block.parent) : el('code', {}, block.parent)],
    ['time', timeText(block.time_ms)],
    ['difficulty', String(block.difficulty)],
    ['miner', accountLink(block.miner)],
    ['state root', el('code', {}, block.state_root)],
    ['best chain', block.on_best_chain ? 'yes' : 'no (a side branch)'],
    ['anchors', block.anchors.length
      ? el('span', {}, block.anchors.map((a) => el('span', {}, `${a.chain} at ${a.height} `, hashLink(a.hash), ' ')))
      : 'none'],
  ]);
  const txs = block.transactions.length
    ? table(['#', 'kind', 'what', 'sender', 'nonce', 'fee'], block.transactions.map((tx, i) => [
      i, tx.kind, txWhat(tx), accountLink(tx.sender), tx.nonce, coins(tx.fee)]), [0, 4])
    : el('p', { class: 'muted' }, 'No transactions.');
  return [
    section(`Block ${block.height} on ${block.chain}`, { class: 'wide', id: 'block' }, details),
    section('Transactions', { class: 'wide', id: 'transactions' }, txs),
  ];
}

function txWhat(tx) {
  switch (tx.kind) {
    case 'put': return el('span', {}, keyLink(tx.key), ` (${bytes(tx.value_bytes)})`);
    case 'delete': return keyLink(tx.key);
    case 'buy_keyspace': return el('span', {}, keyspaceLink(tx.keyspace), `, prepaid ${coins(tx.amount)}`);
    case 'set_script': return keyspaceLink(tx.keyspace);
    case 'transfer': return el('span', {}, `${coins(tx.amount)} to `, accountLink(tx.to));
    case 'claim_miner_reward': return el('span', {}, 'endowment pay of ', accountLink(tx.to), `, earned ${coins(tx.amount)} in total`);
    case 'stake': case 'unstake': return `${coins(tx.amount)} as ${tx.role}`;
    case 'register_blob': return el('span', {}, keyLink(tx.key), `, endowment ${coins(tx.amount)}`);
    default: return '';
  }
}

async function keyspaceView(name) {
  const [record, keys] = await Promise.all([call('bv_getKeyspace', [name]), call('bv_getKeyspaceKeys', [name])]);
  if (!record) return [section('Keyspace', { class: 'wide' }, el('p', {}, `No keyspace ${name} is registered.`))];
  const details = definitions([
    ['owner', accountLink(record.owner)],
    ['chain', chainLink(record.chain)],
    ['depth', String(record.depth)],
    ['quota', bytes(record.quota_bytes)],
    ['endowment', coins(record.endowment)],
    ['script', record.script_hash ? el('code', {}, record.script_hash) : 'none (owner-only)'],
  ]);
  const list = keys.keys.length
    ? table(['key', 'size'], keys.keys.map((k) => [keyLink(k.key), bytes(k.size_bytes)]), [1])
    : el('p', { class: 'muted' }, 'No keys yet.');
  return [
    section(`Keyspace ${name}`, { class: 'wide', id: 'keyspace' }, details),
    section('Keys', { class: 'wide', id: 'keys' }, list,
      keys.truncated ? el('p', { class: 'muted' }, 'The index lists part of this keyspace\'s keys.') : null),
  ];
}

/** The gateway's address of the blob at `key`, each segment escaped as the CLI does. */
function blobUrl(key) {
  return '/blob/' + key.split('/').map(encodeURIComponent).join('/');
}

/** A blob's section: what the chain holds of it, and its bytes through this node's gateway. */
function blobSection(key, blob) {
  const confirmed = blob.shards.filter((s) => s.confirmed).length;
  const url = blobUrl(key);
  const type = blob.content_type || 'bytes';
  const readable = confirmed >= blob.data_shards;
  return section('Blob', { class: 'wide', id: 'blob' },
    definitions([
      ['size', `${bytes(blob.size_bytes)}, ${type}`],
      ['content hash', el('code', {}, blob.content_hash)],
      ['shares', `${blob.data_shards}-of-${blob.total_shards}`],
      ['status', blob.status],
      ['health', `${confirmed} of ${blob.total_shards} shards confirmed, ${blob.data_shards} needed`],
      ['endowment left', coins(blob.endowment_remaining)],
      ['file', readable ? link(url, 'open through this node\'s gateway', { id: 'blob-link' }) : 'not readable yet'],
    ]),
    readable && type.startsWith('image/')
      ? el('img', { src: url, alt: key, id: 'blob-image', style: 'max-width: 100%; max-height: 32rem;' })
      : null);
}

async function keyView(key) {
  const [where, value, proof, blob] = await Promise.all([
    call('bv_getKeyChain', [key]), call('bv_getValue', [key]), call('bv_getProof', [key]),
    call('bv_getBlob', [key])]);
  const isBlob = blob !== null && value.value_hex !== null && blob.manifest_hex === value.value_hex;
  let shown;
  if (value.value_hex === null) {
    shown = el('p', { id: 'value', class: 'muted' }, 'No value: the proof below proves its absence.');
  } else {
    const raw = hexToBytes(value.value_hex);
    const { kind, text } = valueText(raw);
    shown = el('div', {}, el('p', { class: 'muted' }, `${bytes(raw.length)}, shown as ${kind}`),
      expandable(text, VALUE_PREVIEW_BYTES, { id: 'value' }));
  }
  return [
    section(`Key ${key}`, { class: 'wide', id: 'key' }, definitions([
      ['keyspace', keyspaceLink(where.keyspace)],
      ['chain', chainLink(where.chain)],
      ['depth', String(where.depth)],
      ['read at height', `${value.height} on ${value.chain}`],
    ]), isBlob ? el('p', { class: 'muted' }, 'The value is the blob\'s manifest: its bytes live on the storers below.') : null, shown),
    isBlob ? blobSection(key, blob) : null,
    section('Proof', { class: 'wide', id: 'proof' },
      el('p', {}, `A ${bytes(proof.proof_hex.length / 2)} proof of this key's value against the root's best header, one anchor link per level below the root. `,
        'Check it without trusting this node: ', el('code', {}, `bitverse proof ${key}`), '.'),
      expandable(proof.proof_hex, PROOF_PREVIEW_HEX, { id: 'proof-hex', class: 'mono' })),
  ].filter((node) => node !== null);
}

async function accountView(address) {
  const [account, ledger, earnings] = await Promise.all([
    call('bv_getAccount', [address]),
    call('bv_getLedger', [address]),
    call('bv_getEarnings', [address]),
  ]);
  const percent = (ppm) => `${(ppm / 10000).toFixed(2)} %`;
  const unbonding = ledger.stake.unbonding.map((u) => `${coins(u.amount)} as ${u.role} at ${u.release_height}`);
  return [
    section('Account', { class: 'wide', id: 'account' }, definitions([
      ['address', el('code', {}, address)],
      ['balance', el('span', { id: 'balance' }, coins(account.balance))],
      ['nonce', String(account.nonce)],
      ['next nonce', String(account.pending_nonce)],
    ])),
    section(`Stakes and reliability ledger (root height ${ledger.stake.height})`, { class: 'wide', id: 'ledger' },
      definitions([
        ['staked as offerer', coins(ledger.stake.offerer)],
        ['staked as relayer', coins(ledger.stake.relayer)],
        ['unbonding', unbonding.length ? unbonding.join(', ') : 'none'],
      ]),
      table(['role', 'recorded', 'reputation', 'failure', 'latency'],
        ledger.records.map((r) => [r.role, r.recorded ? 'yes' : 'no (the prior)', percent(r.reputation_ppm),
          percent(r.failure_ppm), `${r.latency_ms} ms`]), [2, 3, 4])),
    section('Endowment earnings on data chains', { class: 'wide', id: 'earnings' },
      earnings.length
        ? table(['chain', 'earned', 'provable', 'claimed', 'claimable'],
          earnings.map((e) => [chainLink(e.chain), coins(e.earned), e.provable === null ? '-' : coins(e.provable),
            coins(e.claimed), coins(e.claimable)]), [1, 2, 3, 4])
        : el('p', {}, 'No data chain is open on this node.')),
  ];
}

// ---- Search and start --------------------------------------------------------------------

document.getElementById('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = document.getElementById('search-text').value.trim();
  if (!text) return;
  if (/^bv1[02-9ac-hj-np-z]+$/.test(text)) location.hash = '#/account/' + text;
  else if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) location.hash = '#/block/' + text.replace(/^0x/, '');
  else if (text.includes('/')) location.hash = '#/key/' + encodeURIComponent(text);
  else {
    try {
      const record = await call('bv_getKeyspace', [text]);
      location.hash = record ? '#/keyspace/' + encodeURIComponent(text) : '#/key/' + encodeURIComponent(text);
    } catch (e) {
      location.hash = '#/key/' + encodeURIComponent(text);
    }
  }
});

window.addEventListener('hashchange', () => render(false));
connect();
