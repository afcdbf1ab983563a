/** The shared store contract, run on PostgresStore (the SQLite store runs it in sqlite.test.ts). */
import { after, before } from 'node:test';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { storeContract } from './contract.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

storeContract('postgres', async () => PostgresStore.open({ url: await server.createDatabase() }));
