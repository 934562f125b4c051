// Whether a URL a provider answered (Salesforce's instance_url, Pipedrive's api_domain) may be used: an https
// URL (http too, in development and tests) without credentials, on one of the hosts the catalogue declares for
// it, where a leading `.` admits any subdomain. The one rule for recording such a value and for filling a
// template with it, since the connection's token is then sent there.
export function originOnHosts(
  value: string,
  hosts: readonly string[],
  options: { allowInsecure: boolean },
): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const schemes = options.allowInsecure ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol) || url.username || url.password) return undefined;
  const host = url.hostname.toLowerCase();
  const allowed = hosts.some((entry) => {
    const wanted = entry.toLowerCase();
    return wanted.startsWith('.') ? host.endsWith(wanted) && host.length > wanted.length : host === wanted;
  });
  return allowed ? url.origin : undefined;
}
