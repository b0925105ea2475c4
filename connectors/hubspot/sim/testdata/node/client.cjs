// Drives HubSpot's official Node client (@hubspot/api-client) against the simulator at
// HUBSPOT_BASE and prints what it saw as JSON; client_test.go asserts on it.
const hubspot = require('@hubspot/api-client');

const base = process.env.HUBSPOT_BASE;
const token = process.env.HUBSPOT_TOKEN;
const client = new hubspot.Client({ accessToken: token, basePath: base, numberOfApiCallRetries: 3 });

async function failure(promise) {
  try {
    await promise;
    return { code: 0 };
  } catch (e) {
    return { code: e.code, category: e.body && e.body.category, message: e.body && e.body.message };
  }
}

async function inject(status) {
  const r = await fetch(base + '/_sim/inject', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ status, count: 1 }),
  });
  if (r.status !== 204) throw new Error('inject: ' + r.status);
}

(async () => {
  const out = {};
  const ana = await client.crm.contacts.basicApi.getById('ana.petrova@example.com',
    ['lead_score', 'lifecyclestage', 'aquascaping_experience'], undefined, undefined, false, 'email');
  out.get = { id: ana.id, properties: ana.properties, createdAtIsDate: ana.createdAt instanceof Date };
  out.missing = await failure(client.crm.contacts.basicApi.getById('nobody@example.com', undefined, undefined, undefined, false, 'email'));

  const up = await client.crm.contacts.batchApi.upsert({
    inputs: [
      { idProperty: 'email', id: 'node.client@example.com', properties: { firstname: 'Node', lead_score: '3' } },
      { idProperty: 'email', id: 'ana.petrova@example.com', properties: { lead_score: '13' } },
      { idProperty: 'email', id: 'bad.score@example.com', properties: { lead_score: 'lots' } },
    ],
  });
  out.upsert = {
    status: up.status,
    results: up.results.map((r) => ({ email: r.properties.email, isNew: r._new })).sort((a, b) => a.email.localeCompare(b.email)),
    numErrors: up.numErrors,
    errorIds: (up.errors || []).map((e) => e.context.ids[0]),
  };

  // Three searches in a row against a limit of one per second: the client recognises the
  // secondly 429 and retries a second later.
  const emails = [];
  let after;
  for (let page = 0; page < 3; page++) {
    const res = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lead_score', operator: 'GTE', value: '3' }] }],
      sorts: [JSON.stringify({ propertyName: 'lead_score', direction: 'DESCENDING' })],
      properties: ['email', 'lead_score'],
      limit: 1,
      after,
    });
    emails.push(res.results[0].properties.email);
    out.searchTotal = res.total;
    if (!res.paging) break;
    after = res.paging.next.after;
  }
  out.search = emails;

  // A 502 is retried by the client.
  await inject(502);
  const page = await client.crm.contacts.basicApi.getPage(2, undefined, ['email']);
  out.pageAfterRetry = { count: page.results.length, next: Boolean(page.paging && page.paging.next) };

  await client.events.send.basicApi.send({
    eventName: process.env.HUBSPOT_EVENT,
    email: 'ana.petrova@example.com',
    occurredAt: new Date('2025-08-06T10:00:00Z'),
    properties: { content_id: 'CNT-7', engagement_type: 'open', quality_score: '91' },
  });
  out.badEvent = await failure(client.events.send.basicApi.send({ eventName: 'pe1_unknown', email: 'a@example.com', properties: {} }));

  const companies = await client.crm.companies.basicApi.getPage(1, undefined, ['name']);
  const assoc = await client.crm.associations.v4.basicApi.createDefault('contacts', ana.id, 'companies', companies.results[0].id);
  out.association = { status: assoc.status, typeIds: assoc.results.map((r) => r.associationSpec.associationTypeId).sort() };

  const bad = new hubspot.Client({ accessToken: 'pat-na1-revoked', basePath: base });
  out.badToken = await failure(bad.crm.contacts.basicApi.getPage(1));

  process.stdout.write(JSON.stringify(out));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e, e && e.body ? JSON.stringify(e.body) : '');
  process.exit(1);
});
