/** Record-schema checks shared by every package's tests: core's shipped JSON Schema (draft 2020-12). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LockscopeRecord, RecordHolder } from '@lockscope/core/record';

// ajv is a test dependency of the packages (not of the repository root): resolve it from core's.
const require_ = createRequire(new URL('../packages/core/package.json', import.meta.url));
/** The schema as the package exports it (`@lockscope/core/record.schema.json`). */
export const schemaPath = require_.resolve('@lockscope/core/record.schema.json');
export const recordSchema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;

type Validate = ((r: unknown) => boolean) & { errors?: Array<{ instancePath: string }> | null };
type Ajv = { compile(s: unknown): Validate; errorsText(e: unknown): string };
let ajv: Ajv | undefined;
let validator: Validate | undefined;

function validate(r: unknown): boolean {
  if (validator === undefined) {
    const Ajv2020 = (require_('ajv/dist/2020') as { default: new (o: object) => Ajv }).default;
    const addFormats = (require_('ajv-formats') as { default: (a: unknown) => void }).default;
    ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    validator = ajv.compile(recordSchema);
  }
  return validator(r);
}

/** Throws with ajv's messages when `r` is not a valid version-1 record. */
export function assertValidRecord(r: unknown): asserts r is LockscopeRecord {
  if (!validate(r)) throw new Error(`record fails the schema: ${ajv!.errorsText(validator!.errors)}\n${JSON.stringify(r)}`);
}

export function isValidRecord(r: unknown): boolean {
  return validate(r);
}

/** Where `record` breaks schema v1 (JSON pointers of the failing instances), [] when it is valid. */
export function schemaErrors(record: unknown): string[] {
  return validate(record) ? [] : [...new Set((validator!.errors ?? []).map((e) => e.instancePath))];
}

/** A holder as the probe reports one: root's flock(1) holding an exclusive flock; `o` overrides fields. */
export function holderRecord(o: Partial<RecordHolder> = {}): RecordHolder {
  return {
    pid: 4242,
    startTime: null,
    command: 'flock',
    argv: ['flock', '-x', '/srv/x.lock', 'sleep', '600'],
    uid: 0,
    user: 'root',
    lockKind: 'flock',
    lockMode: 'exclusive',
    role: 'holder',
    fd: 3,
    range: null,
    ...o,
  };
}
