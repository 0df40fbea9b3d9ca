/**
 * Default argv redaction. Command lines leak secrets (`--password x`, `DB_PASSWORD=x`,
 * `postgres://u:secret@h`); the probe reports other people's processes, so it hides values that
 * look like secrets unless the caller opts out. Heuristic by nature: documented in docs/probe.md.
 */

export const REDACTED = '[redacted]';

// Words that make a flag or key secret when they appear as a whole word of its name.
const SECRET_WORDS =
  'password|passwd|passphrase|pass|pwd|secret|secrets|token|tokens|apikey|api-key|api_key|' +
  'accesskey|access-key|access_key|privatekey|private-key|private_key|credential|credentials|' +
  'auth|authorization|cookie|session|sessionid|signature|sig|jwt|bearer|otp|pin';

// Name (flag without dashes, or key) whose words include a secret word: db-password, AWS_SECRET_ACCESS_KEY.
const SECRET_NAME = new RegExp(`(?:^|[-_.])(?:${SECRET_WORDS})(?:$|[-_.])`, 'i');
// Compact spellings glued to other words: dbpassword, apitoken, clientsecret.
const SECRET_SUFFIX = /(password|passwd|secret|token|apikey|accesskey|privatekey)$/i;

function isSecretName(name: string): boolean {
  if (name.length === 0 || name.length > 128) return false;
  return SECRET_NAME.test(name) || SECRET_SUFFIX.test(name);
}

// scheme://user:password@host  -> keep user, redact password; scheme://longtoken@host -> redact.
const URL_CREDS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*)(?::([^\s/@]*))?@/gi;

function redactUrls(s: string): string {
  if (!s.includes('://') || !s.includes('@')) return s;
  return s.replace(URL_CREDS, (m, scheme: string, user: string, pass: string | undefined) => {
    if (pass !== undefined) return `${scheme}${user}:${REDACTED}@`;
    // A bare userinfo is usually a name (ssh://git@host), but long opaque ones are tokens.
    if (user.length >= 20 && /^[\w-]+$/.test(user)) return `${scheme}${REDACTED}@`;
    return m;
  });
}

// "Authorization: Bearer x", "X-Api-Key: x" (curl -H), "Bearer x" alone.
const HEADER = /^([\w-]+)(\s*:\s*)(.+)$/;
const BEARER = /\b(bearer|basic|token)(\s+)\S+/gi;

function redactOne(arg: string): string {
  const h = HEADER.exec(arg);
  if (h && !arg.includes('://') && isSecretName(h[1]!)) return `${h[1]}${h[2]}${REDACTED}`;
  const eq = arg.indexOf('=');
  if (eq > 0) {
    // --flag=value, key=value, -Dkey=value (Java properties)
    const name = arg
      .slice(0, eq)
      .replace(/^-+/, '')
      .replace(/^D(?=[a-z])/, '');
    if (isSecretName(name)) return `${arg.slice(0, eq + 1)}${REDACTED}`;
  }
  let out = redactUrls(arg);
  if (/\b(bearer|basic|token)\s+\S/i.test(out)) out = out.replace(BEARER, `$1$2${REDACTED}`);
  return out;
}

/**
 * The built-in redactor. argv[0] is kept. Rules, in order:
 * `--secret-flag value` and `--secret-flag=value`; `key=value` with a secret key (also `-Dkey=`);
 * `Name: value` headers with a secret name; credentials in URLs; `Bearer x`.
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = new Array<string>(argv.length);
  let hideNext = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (i === 0) {
      out[0] = redactUrls(a);
      continue;
    }
    if (hideNext) {
      hideNext = false;
      // `--password --verbose`: the flag had no value; do not eat the next flag.
      if (!(a.length > 1 && a.startsWith('-'))) {
        out[i] = REDACTED;
        continue;
      }
    }
    if (a.startsWith('-') && !a.includes('=')) {
      const name = a.replace(/^-+/, '');
      if (name.length > 1 && isSecretName(name) && !/^no-/.test(name)) {
        out[i] = a;
        hideNext = true;
        continue;
      }
    }
    out[i] = redactOne(a);
  }
  return out;
}

/** Applies the `redact` option; a throwing or misbehaving user redactor hides the whole argv. */
export function applyRedaction(argv: string[], redact: boolean | ((a: string[]) => string[])): string[] {
  if (redact === false) return argv;
  if (redact === true) return redactArgv(argv);
  try {
    const r = redact(argv.slice());
    if (Array.isArray(r) && r.every((x) => typeof x === 'string')) return r;
  } catch {
    // fall through: never leak the original because a custom redactor failed
  }
  return argv.length > 0 ? [argv[0]!, ...argv.slice(1).map(() => REDACTED)] : [];
}
