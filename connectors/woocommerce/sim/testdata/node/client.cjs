// Drives WooCommerce's official Node client (@woocommerce/woocommerce-rest-api) against the
// simulator and prints what it saw as JSON; client_test.go asserts on it. Over http:// the
// client signs with one-legged OAuth 1.0a; over https:// it sends Basic auth, or the key in
// the query string with queryStringAuth.
const WooCommerceRestApi = require('@woocommerce/woocommerce-rest-api').default;

const key = process.env.WC_KEY;
const secret = process.env.WC_SECRET;
const api = (url, extra) => new WooCommerceRestApi({ url, consumerKey: key, consumerSecret: secret, version: 'wc/v3', ...extra });

async function failure(promise) {
  try {
    await promise;
    return { status: 0 };
  } catch (e) {
    if (!e.response) throw e;
    return { status: e.response.status, code: e.response.data && e.response.data.code, message: e.response.data && e.response.data.message };
  }
}

async function listAll(client, params) {
  const names = [];
  let total = 0;
  let pages = 1;
  for (let page = 1; page <= pages; page++) {
    const r = await client.get('products', { ...params, page });
    pages = Number(r.headers['x-wp-totalpages']);
    total = Number(r.headers['x-wp-total']);
    names.push(...r.data.map((p) => p.name));
  }
  return { names, total, pages };
}

(async () => {
  const out = {};
  const oauth = api(process.env.WC_HTTP);
  out.oauthList = await listAll(oauth, { per_page: 5, orderby: 'id', order: 'asc' });
  // Spaces, commas and a quote in the query must be signed and checked alike.
  out.oauthSearch = (await oauth.get('products', { search: "aquarium soil", sku: 'TROP-SOIL-3,ADA-AS-AMZ2-9', per_page: 10 })).data.map((p) => p.sku);
  const updated = await oauth.put('products/703', { description: "<p>Vivid colours (and the app's timer).</p>", sale_price: '199.00' });
  out.oauthUpdate = { price: updated.data.price, onSale: updated.data.on_sale, description: updated.data.description };
  const batch = await oauth.post('products/batch', {
    create: [{ name: 'Java Moss Portion', regular_price: '5.90' }],
    update: [{ id: 4242, name: 'gone' }],
    delete: [712],
  });
  out.oauthBatch = {
    created: batch.data.create.map((p) => p.name),
    updateError: batch.data.update[0].error && batch.data.update[0].error.code,
    deleted: batch.data.delete.map((p) => p.id),
  };
  out.oauthMissing = await failure(oauth.get('products/4242'));
  out.oauthBadSecret = await failure(new WooCommerceRestApi({ url: process.env.WC_HTTP, consumerKey: key, consumerSecret: 'cs_wrong', version: 'wc/v3' }).get('products'));
  const orders = await oauth.get('orders', { status: 'completed' });
  out.oauthOrders = { count: orders.data.length, total: orders.headers['x-wp-total'] };

  const basic = api(process.env.WC_HTTPS);
  out.basicList = await listAll(basic, { per_page: 100, category: 16 });
  const query = api(process.env.WC_HTTPS, { queryStringAuth: true });
  out.queryGet = (await query.get('products/700')).data.sku;
  out.queryBadParam = await failure(query.get('products', { per_page: 500 }));

  process.stdout.write(JSON.stringify(out));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e, e && e.response ? JSON.stringify(e.response.data) : '');
  process.exit(1);
});
