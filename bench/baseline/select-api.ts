// The credential-read baseline: an Express route that does one knex primary-key SELECT and answers JSON,
// with the service's database settings (connectDatabase's pool) and the same Node flags.
import express from 'express';
import { connectDatabase } from '../../db/database.js';

const db = connectDatabase(process.env.DATABASE_URL!);
const app = express();
app.use(express.json());
app.post('/v1/connections/:id/token', async (req, res) => {
  const row = await db('connections').where({ id: req.params.id }).first('id', 'status');
  if (!row) res.status(404).json({ error: 'not_found' });
  else res.json(row);
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('baseline api listening'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void db.destroy().then(() => process.exit(0))));
}
