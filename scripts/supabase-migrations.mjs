// Puts pgflow's migrations (from the pinned @pgflow/core package in node_modules) beside the project's own in
// supabase/migrations, so that `supabase db push` deploys the whole schema with the Supabase CLI.
// The copies are not committed (.gitignore): package-lock.json pins what they are.
import { copyFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'node_modules', '@pgflow', 'core', 'dist', 'supabase', 'migrations');
const to = join(root, 'supabase', 'migrations');
const files = readdirSync(from).filter(name => name.endsWith('.sql'));
for (const name of files) copyFileSync(join(from, name), join(to, name));
console.log(`copied ${files.length} pgflow migrations into supabase/migrations`);
