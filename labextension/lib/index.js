// Due dates and notary seals under the rows of nbgrader's Assignments tab.
//
// nbgrader's tab (@jupyter/nbgrader, assignment_list) draws one `.list_item` per assignment in
// #released_assignments_list, #fetched_assignments_list and #submitted_assignments_list, and one
// `.nested_list_item` per submission. Whenever those lists change, this asks our server
// extension (GET {baseUrl}nbgrader-k8s/assignments, python/nbgrader_k8s_exchange/labext) what
// `nbgrader list` says about them and adds one line of text under each row it knows.

const LISTS = [
  'released_assignments_list',
  'fetched_assignments_list',
  'submitted_assignments_list'
];
const WATCHED = LISTS.map(id => `#${id}`).join(', ');
const NOTE = 'nbk8s-note';
// Time left goes stale, and a seal appears a notary pass after a submit: ask again every
// 5 minutes while the page is visible. Each ask is one `nbgrader list` on the volume (about
// 40 round trips), so a class of 1,000 with the tab open costs ~130 round trips a second.
const REFRESH_MS = 300000;

function pageConfig() {
  const el = document.getElementById('jupyter-config-data');
  try {
    return el ? JSON.parse(el.textContent) : {};
  } catch (err) {
    return {};
  }
}

function cookie(name) {
  const found = document.cookie.split('; ').find(c => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

async function fetchStatus() {
  const config = pageConfig();
  const base = (config.baseUrl || '/').replace(/\/?$/, '/');
  const headers = {};
  if (config.token) {
    headers.Authorization = `token ${config.token}`;
  }
  const xsrf = cookie('_xsrf');
  if (xsrf) {
    headers['X-XSRFToken'] = xsrf;
  }
  const reply = await fetch(`${base}nbgrader-k8s/assignments`, {
    headers,
    credentials: 'same-origin'
  });
  if (!reply.ok) {
    throw new Error(`${reply.status} ${reply.statusText}`);
  }
  return reply.json();
}

function key(...parts) {
  return parts.join('\u0000');
}

function text(el) {
  return el ? el.textContent.trim() : '';
}

// The `.col-md-12` line of a list item and the ids nbgrader wrote into it.
function rowOf(item) {
  const row = item.querySelector(':scope > .col-md-12');
  if (!row) {
    return null;
  }
  return {
    row,
    assignment: text(row.querySelector(':scope > .item_name')),
    course: text(row.querySelector(':scope > .item_course'))
  };
}

// The submission's timestamp: the text nbgrader puts first in its `.item_name`.
function timestampOf(row) {
  const name = row.querySelector(':scope > .item_name');
  const first = name && name.firstChild;
  return first && first.nodeType === Node.TEXT_NODE ? first.textContent.trim() : text(name);
}

function setNote(row, kind, content, state) {
  let note = row.querySelector(`:scope > .${NOTE}.${kind}`);
  if (!content) {
    if (note) {
      note.remove();
    }
    return;
  }
  if (!note) {
    note = document.createElement('div');
    note.className = `${NOTE} ${kind}`;
    row.append(note);
  }
  if (note.textContent !== content) {
    note.textContent = content;
  }
  if (state && note.dataset.state !== state) {
    note.dataset.state = state;
  }
}

function decorate(status) {
  const due = new Map(
    status.assignments.map(a => [key(a.course_id, a.assignment_id), a.due_text])
  );
  const seals = new Map(
    status.submissions.map(s => [key(s.course_id, s.assignment_id, s.timestamp), s])
  );
  for (const id of LISTS.slice(0, 2)) {
    const list = document.getElementById(id);
    for (const item of list ? list.querySelectorAll(':scope > .list_item') : []) {
      const ids = rowOf(item);
      if (ids) {
        setNote(ids.row, 'nbk8s-due', due.get(key(ids.course, ids.assignment)));
      }
    }
  }
  const submitted = document.getElementById(LISTS[2]);
  for (const item of submitted ? submitted.querySelectorAll(':scope > .list_item') : []) {
    const ids = rowOf(item);
    for (const nested of ids ? item.querySelectorAll('.nested_list_item') : []) {
      const row = nested.querySelector(':scope > .col-md-12');
      if (row) {
        const seal = seals.get(key(ids.course, ids.assignment, timestampOf(row)));
        setNote(row, 'nbk8s-seal', seal && seal.seal_text, seal && seal.state);
      }
    }
  }
}

// Whether a mutation is nbgrader redrawing its lists (not us adding notes, not elsewhere).
function isListChange(record) {
  const target =
    record.target.nodeType === Node.ELEMENT_NODE ? record.target : record.target.parentElement;
  if (!target || !target.closest(WATCHED) || target.closest(`.${NOTE}`)) {
    return false;
  }
  const nodes = [...record.addedNodes, ...record.removedNodes];
  return !nodes.every(n => n.classList && n.classList.contains(NOTE));
}

function start() {
  let timer = null;
  let busy = false;
  let again = false;

  async function refresh() {
    if (!document.getElementById(LISTS[0])) {
      return;
    }
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const status = await fetchStatus();
      if (status.error) {
        console.warn('nbgrader-k8s-exchange: ' + status.error);
      } else if (status.exchange) {
        decorate(status);
      }
    } catch (err) {
      console.warn('nbgrader-k8s-exchange: no due dates or seals:', err);
    } finally {
      busy = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  new MutationObserver(records => {
    if (records.some(isListChange)) {
      schedule();
    }
  }).observe(document.body, { childList: true, subtree: true });
  setInterval(() => {
    if (document.visibilityState === 'visible') {
      refresh();
    }
  }, REFRESH_MS);
}

export default {
  id: 'nbgrader-k8s-exchange:assignments-tab',
  description: "Due dates and notary seals in nbgrader's Assignments tab",
  autoStart: true,
  activate: () => start()
};
