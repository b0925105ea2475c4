// Drives jsforce (the de-facto Salesforce client) against the simulator and prints what it
// saw as JSON; client_test.go asserts on it.
const jsforce = require('jsforce');
const crypto = require('crypto');

const url = process.env.SF_URL;
const version = '59.0';

function assertion() {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = b64({ alg: 'RS256', typ: 'JWT' }) + '.' + b64({
    iss: process.env.SF_CLIENT_ID, sub: process.env.SF_USERNAME, aud: url, exp: Math.floor(Date.now() / 1000) + 180,
  });
  const sig = crypto.createSign('RSA-SHA256').update(input).sign(process.env.SF_PRIVATE_KEY).toString('base64url');
  return input + '.' + sig;
}

async function failure(promise) {
  try {
    await promise;
    return { code: '' };
  } catch (e) {
    const data = e.data || {};
    return { code: e.errorCode || e.name, fields: data.fields || (data[0] && data[0].fields) || [], message: e.message };
  }
}

(async () => {
  const out = {};
  const oauth2 = { loginUrl: url, clientId: process.env.SF_CLIENT_ID, clientSecret: process.env.SF_CLIENT_SECRET, redirectUri: url + '/callback' };
  const conn = new jsforce.Connection({ oauth2, version });
  const user = await conn.login(process.env.SF_USERNAME, process.env.SF_PASSWORD);
  out.login = { instanceUrl: conn.instanceUrl, orgId: user.organizationId, userId: user.id };

  const created = await conn.sobject('Contact').create({ FirstName: 'Js', LastName: 'Force', Email: 'jsforce@example.com', Interaction_Score__c: 33 });
  const got = await conn.sobject('Contact').retrieve(created.id);
  await conn.sobject('Contact').update({ Id: created.id, Title: 'Client' });
  const after = await conn.sobject('Contact').retrieve(created.id);
  out.crud = { success: created.success, name: got.Name, title: after.Title };
  out.missing = await failure(conn.sobject('Contact').create({ FirstName: 'No last name' }));

  const up1 = await conn.sobject('Contact').upsert({ Email__c: 'sub7@example.com', LastName: 'Seven', AquaScaping_Interest_Level__c: 'beginner' }, 'Email__c');
  const up2 = await conn.sobject('Contact').upsert({ Email__c: 'sub7@example.com', AquaScaping_Interest_Level__c: 'expert' }, 'Email__c');
  out.upsert = { first: up1.created, second: up2.created, sameId: up1.id === up2.id };

  const many = await conn.sobject('Lead').create([
    { LastName: 'One', Company: 'A' }, { LastName: 'Two' }, { LastName: 'Three', Company: 'C' },
  ], { allOrNone: false });
  out.collection = many.map((r) => (r.success ? 'ok' : r.errors[0].statusCode));
  const upserted = await conn.sobject('Contact').upsert([
    { Email__c: 'sub7@example.com', Title: 'Collector' }, { Email__c: 'sub8@example.com', LastName: 'Eight' },
  ], 'Email__c');
  out.collectionUpsert = upserted.map((r) => r.created);

  // Paged query (the simulator serves 2 records per batch) followed by jsforce itself.
  const res = await conn.query('SELECT Id, Email FROM Contact WHERE Email != null ORDER BY Email', { autoFetch: true, maxFetch: 100 });
  out.query = { totalSize: res.totalSize, fetched: res.records.length, done: res.done, first: res.records[0].Email };
  out.badQuery = await failure(conn.query("SELECT Id FROM Contact WHERE Email = 5"));

  // An expired session: jsforce logs in again with the same credentials and repeats the call.
  const expire = await fetch(url + '/_sim/sessions', { method: 'DELETE', headers: { Authorization: 'Bearer ' + process.env.SF_CLIENT_SECRET } });
  if (expire.status !== 204) throw new Error('expire sessions: ' + expire.status);
  const count = await conn.query('SELECT COUNT() FROM Lead');
  out.afterExpiry = count.totalSize;

  await conn.sobject('Contact').destroy(created.id);
  out.deleted = await failure(conn.sobject('Contact').retrieve(created.id));

  // The JWT bearer flow: an assertion signed with the connected app's key.
  const jwtConn = new jsforce.Connection({ oauth2: { loginUrl: url, clientId: process.env.SF_CLIENT_ID }, version });
  await jwtConn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion() });
  out.jwt = (await jwtConn.query("SELECT Id FROM Account WHERE Name = 'Green Aqua'")).totalSize;

  const limits = await conn.request('/services/data/v' + version + '/limits');
  out.limits = limits.DailyApiRequests;
  process.stdout.write(JSON.stringify(out));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e, e && e.errorCode ? e.errorCode : '');
  process.exit(1);
});
