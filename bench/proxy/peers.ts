/**
 * @module The test bed of the proxy benchmark (reference/bench-baselines.md §3): an nginx origin
 * and the proxies under test, each our own instance bound to 127.0.0.1 only, with a config
 * written to a temporary directory at run time (never the system daemons), one worker / thread /
 * process each so that they compare with Node's one event loop (tinyproxy runs a thread per
 * connection and cannot be limited).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SERVE_NODE_FLAGS } from '../../src/cli/serve-node-flags.ts'
import { freePort, runCommand, startService, waitForPort, type Service } from './processes.ts'

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'
/** The name every client asks for (SNI, CONNECT host, Host); /etc/hosts and our --hosts map it to 127.0.0.1. */
export const NAME = 'localhost'

let instances = 0
/** A directory of its own for each instance (pid files, logs): a fresh peer may run beside another. */
function instanceDir(dir: string, name: string): string {
  const d = join(dir, `${name}-${++instances}`)
  mkdirSync(d, { recursive: true })
  return d
}

export interface Origin {
  readonly service: Service
  readonly tlsPort: number
  readonly httpPort: number
  /** The 1 GiB file it serves (W4), which W6 uploads to it. */
  readonly bulkFile: string
}

export interface AksPeer {
  readonly service: Service
  readonly explicitPort: number
  readonly sniPort: number
  /** Its policy and `--hosts` files (the Node floor's checks read the same). */
  readonly policyFile: string
  readonly hostsFile: string
}

export interface Peers {
  readonly origin: Origin
  readonly aks: AksPeer
  /** aks-egress run from the baseline checkout (BENCH_PROXY_AKS_BASELINE), beside this tree's. */
  readonly aksBase?: AksPeer
  readonly squid: { readonly service: Service; readonly port: number }
  readonly tinyproxy: { readonly service: Service; readonly port: number }
  readonly haproxy: { readonly service: Service; readonly port: number }
  readonly nginxStream: { readonly service: Service; readonly port: number }
  readonly floor: {
    readonly service: Service
    readonly connectPort: number
    readonly sniPort: number
    /** The same relay with aks-egress's own checks of a connection (node-floor.ts, `--checks-*`). */
    readonly checksConnectPort: number
    readonly checksSniPort: number
  }
  /** The same four listeners with their sockets in C (node-floor.ts `--plane`): when a `plane-*` target is chosen. */
  readonly plane?: Peers['floor']
}

/** The origin's content: /ok (a literal), /1m and /1g (files). `bulkBytes` is the size of /1g. */
async function originFiles(dir: string, bulkBytes: number): Promise<void> {
  const www = join(dir, 'www')
  mkdirSync(www, { recursive: true })
  chmodSync(www, 0o755)
  // 1 MiB of random bytes; the big file sparse (zeros: TLS encrypts it all the same, and no disk).
  await runCommand('dd', ['if=/dev/urandom', `of=${join(www, '1m')}`, 'bs=1048576', 'count=1', 'status=none'])
  await runCommand('truncate', ['-s', String(bulkBytes), join(www, '1g')])
  chmodSync(join(www, '1m'), 0o644)
  chmodSync(join(www, '1g'), 0o644)
}

async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'origin.pem')
  const key = join(dir, 'origin.key')
  await runCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ])
  chmodSync(key, 0o644)
  return { cert, key }
}

export async function startOrigin(dir: string, bulkBytes: number): Promise<Origin> {
  await originFiles(dir, bulkBytes)
  const { cert, key } = await makeCertificate(dir)
  const tlsPort = await freePort()
  const httpPort = await freePort()
  const conf = join(dir, 'origin.conf')
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/origin.pid;
error_log ${dir}/origin-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    listen 127.0.0.1:${httpPort};
    server_name localhost;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    root ${dir}/www;
    location = /ok { return 200 "ok\\n"; }
    # W6: nginx reads and discards the body (any size) and answers 204.
    location = /upload { client_max_body_size 0; return 204; }
  }
}
`,
  )
  const service = startService('origin nginx', 'nginx', ['-p', dir, '-e', join(dir, 'origin-error.log'), '-c', conf])
  await waitForPort(service, tlsPort)
  await waitForPort(service, httpPort)
  return { service, tlsPort, httpPort, bulkFile: join(dir, 'www', '1g') }
}

/**
 * aks-egress serve from the checkout `root` (its built bin/ and dist/): explicit proxy on a free
 * port, transparent listeners on ephemeral ports.
 */
async function startAks(root: string, dir: string, origin: Origin, nodeArgs: readonly string[], name = 'aks-egress'): Promise<AksPeer> {
  const ad = instanceDir(dir, 'aks-egress')
  const policy = join(ad, 'policy.yaml')
  writeFileSync(
    policy,
    `apiVersion: aks-egress/v1
name: bench
settings:
  # The origin is on loopback (reference/bench-baselines.md §3).
  unsafeAllowPrivateRanges: ["127.0.0.0/8"]
ruleCollectionGroups:
  - name: bench
    priority: 200
    ruleCollections:
      - name: origin
        type: application
        priority: 100
        action: Allow
        rules:
          - name: origin
            sourceAddresses: ["*"]
            protocols: [Https:${origin.tlsPort}, Http:${origin.httpPort}]
            targetFqdns: [${NAME}]
`,
  )
  const hosts = join(ad, 'hosts')
  writeFileSync(hosts, `127.0.0.1 ${NAME}\n`)
  const explicitPort = await freePort()
  const args = [
    ...nodeArgs,
    join(root, 'bin', 'aks-egress.js'), 'serve', '--policy', policy, '--hosts', hosts,
    '--listen', `127.0.0.1:${explicitPort}`, '--admin', 'none', '--log-level', 'warn', '--no-watch',
    '--transparent', '--no-nftables', '--transparent-address', '127.0.0.1', '--transparent-port-offset', 'ephemeral',
  ]
  const service = startService(name, process.execPath, args, { cwd: ad })
  await waitForPort(service, explicitPort)
  // The startup line names each transparent listener: "tls:ORIGINAL ADDR:PORT".
  const until = Date.now() + 5000
  let sniPort: number | undefined
  while (sniPort === undefined && Date.now() < until) {
    const m = new RegExp(`tls:${origin.tlsPort} 127\\.0\\.0\\.1:(\\d+)`).exec(service.output())
    if (m) sniPort = Number(m[1])
    else await new Promise((r) => setTimeout(r, 50))
  }
  if (sniPort === undefined) throw new Error(`${name}: no transparent TLS listener in its startup line:\n${service.output()}`)
  await waitForPort(service, sniPort)
  return { service, explicitPort, sniPort, policyFile: policy, hostsFile: hosts }
}

async function startSquid(dir: string, origin: Origin): Promise<Peers['squid']> {
  // Squid drops to user "proxy": its pid file and log live in a directory anyone may write.
  const sq = instanceDir(dir, 'squid')
  chmodSync(sq, 0o777)
  const port = await freePort()
  const conf = join(sq, 'squid.conf')
  writeFileSync(
    conf,
    `http_port 127.0.0.1:${port}
acl bench_ports port ${origin.tlsPort} ${origin.httpPort}
http_access deny !bench_ports
http_access allow localhost
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log ${sq}/cache.log
pid_filename ${sq}/squid.pid
coredump_dir ${sq}
pinger_enable off
max_filedescriptors 16384
shutdown_lifetime 1 seconds
visible_hostname aks-egress-bench
`,
  )
  chmodSync(conf, 0o644)
  const service = startService('squid', 'squid', ['-N', '-f', conf])
  await waitForPort(service, port, 20_000)
  return { service, port }
}

async function startTinyproxy(dir: string, origin: Origin): Promise<Peers['tinyproxy']> {
  const tp = instanceDir(dir, 'tinyproxy')
  chmodSync(tp, 0o777)
  const port = await freePort()
  const conf = join(tp, 'tinyproxy.conf')
  writeFileSync(
    conf,
    `Port ${port}
Listen 127.0.0.1
Allow 127.0.0.1
ConnectPort ${origin.tlsPort}
ConnectPort ${origin.httpPort}
MaxClients 2048
Timeout 600
LogLevel Critical
LogFile "${tp}/tinyproxy.log"
DisableViaHeader Yes
User nobody
Group nogroup
`,
  )
  chmodSync(conf, 0o644)
  const service = startService('tinyproxy', 'tinyproxy', ['-d', '-c', conf])
  await waitForPort(service, port)
  return { service, port }
}

async function startHaproxy(dir: string, origin: Origin): Promise<Peers['haproxy']> {
  const port = await freePort()
  const conf = join(instanceDir(dir, 'haproxy'), 'haproxy.cfg')
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend sni
  bind 127.0.0.1:${port}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend origin if { req.ssl_sni -i ${NAME} }
backend origin
  server o 127.0.0.1:${origin.tlsPort}
`,
  )
  const service = startService('haproxy', 'haproxy', ['-db', '-f', conf])
  await waitForPort(service, port)
  return { service, port }
}

async function startNginxStream(dir: string, origin: Origin): Promise<Peers['nginxStream']> {
  const port = await freePort()
  const ns = instanceDir(dir, 'nginx-stream')
  const conf = join(ns, 'nginx.conf')
  writeFileSync(
    conf,
    `load_module ${NGINX_STREAM_MODULE};
daemon off;
master_process on;
worker_processes 1;
pid ${ns}/nginx.pid;
error_log ${ns}/error.log warn;
events { worker_connections 16384; }
stream {
  map $ssl_preread_server_name $up {
    ${NAME} 127.0.0.1:${origin.tlsPort};
    default 127.0.0.1:9;
  }
  server {
    listen 127.0.0.1:${port};
    ssl_preread on;
    proxy_timeout 300s;
    proxy_pass $up;
  }
}
`,
  )
  const service = startService('nginx stream', 'nginx', ['-p', ns, '-e', join(ns, 'error.log'), '-c', conf])
  await waitForPort(service, port)
  return { service, port }
}

/**
 * The Node floor (bench/proxy/node-floor.ts), with the V8 flags `serve` runs with
 * (src/cli/serve-node-flags.ts) and the same extra Node arguments as aks-egress; its checked
 * listeners read aks-egress's policy and `--hosts` files.
 */
async function startNodeFloor(root: string, origin: Origin, aks: AksPeer, nodeArgs: readonly string[], bookkeeping: boolean, plane: string | undefined): Promise<NonNullable<Peers['plane']>> {
  const connectPort = await freePort()
  const sniPort = await freePort()
  const checksConnectPort = await freePort()
  const checksSniPort = await freePort()
  const args = [
    ...SERVE_NODE_FLAGS, ...nodeArgs, '--import', 'tsx', join(root, 'bench', 'proxy', 'node-floor.ts'),
    '--connect', String(connectPort), '--sni', String(sniPort), '--origin', String(origin.tlsPort),
    '--checks-connect', String(checksConnectPort), '--checks-sni', String(checksSniPort), '--policy', aks.policyFile, '--hosts', aks.hostsFile,
    ...(bookkeeping ? ['--bookkeeping'] : []),
    ...(plane !== undefined ? ['--plane', plane] : []),
  ]
  const service = startService(plane === undefined ? 'node floor' : 'node floor on the C plane', process.execPath, args, { cwd: root })
  for (const port of [connectPort, sniPort, checksConnectPort, checksSniPort]) await waitForPort(service, port)
  return { service, connectPort, sniPort, checksConnectPort, checksSniPort }
}

/**
 * `baselineRoot`: another checkout whose aks-egress runs too, as the `@base` targets;
 * `floorBookkeeping`: the floor + checks keeps aks-egress's caps, bounds, fields and metrics too;
 * `planeModule`: the compiled bench/proxy/plane/plane.c, for a second floor with its sockets in C.
 */
export async function startPeers(root: string, dir: string, origin: Origin, aksNodeArgs: readonly string[], baselineRoot?: string, floorBookkeeping = false, planeModule?: string): Promise<Peers> {
  const aks = await startAks(root, dir, origin, aksNodeArgs)
  const aksBase = baselineRoot === undefined ? undefined : await startAks(baselineRoot, dir, origin, aksNodeArgs, 'aks-egress@base')
  const squid = await startSquid(dir, origin)
  const tinyproxy = await startTinyproxy(dir, origin)
  const haproxy = await startHaproxy(dir, origin)
  const nginxStream = await startNginxStream(dir, origin)
  const floor = await startNodeFloor(root, origin, aks, aksNodeArgs, floorBookkeeping, undefined)
  const plane = planeModule === undefined ? undefined : await startNodeFloor(root, origin, aks, aksNodeArgs, floorBookkeeping, planeModule)
  return { origin, aks, ...(aksBase ? { aksBase } : {}), squid, tinyproxy, haproxy, nginxStream, floor, ...(plane ? { plane } : {}) }
}

export type PeerKind = 'aks' | 'squid' | 'tinyproxy' | 'haproxy' | 'nginxStream'

/**
 * A fresh instance of one peer (for the idle-memory measurement, so that no earlier load's heap
 * or pools hide what the tunnels cost). `explicitPort` for CONNECT, `sniPort` for a TLS listener.
 */
export async function startFreshPeer(kind: PeerKind, root: string, dir: string, origin: Origin, aksNodeArgs: readonly string[]): Promise<{ service: Service; explicitPort?: number; sniPort?: number }> {
  switch (kind) {
    case 'aks': {
      const a = await startAks(root, dir, origin, aksNodeArgs)
      return { service: a.service, explicitPort: a.explicitPort, sniPort: a.sniPort }
    }
    case 'squid': {
      const s = await startSquid(dir, origin)
      return { service: s.service, explicitPort: s.port }
    }
    case 'tinyproxy': {
      const s = await startTinyproxy(dir, origin)
      return { service: s.service, explicitPort: s.port }
    }
    case 'haproxy': {
      const s = await startHaproxy(dir, origin)
      return { service: s.service, sniPort: s.port }
    }
    case 'nginxStream': {
      const s = await startNginxStream(dir, origin)
      return { service: s.service, sniPort: s.port }
    }
  }
}
