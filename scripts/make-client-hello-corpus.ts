// Writes test/fixtures/client-hello/*.bin: ClientHellos captured from real clients (Node, openssl,
// curl, python) and built ones for the edge cases real clients do not send. Run once; the files are
// committed and test/unit/proxy/client-hello-corpus.test.ts holds what each must parse to.
//   node --import tsx scripts/make-client-hello-corpus.ts
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { connect } from 'node:tls'
import { buildClientHello, clientHelloMessage, inRecords } from '../test/helpers/client-hello-builder.ts'

const dir = new URL('../test/fixtures/client-hello/', import.meta.url).pathname

/** Starts a server that keeps the first 64 KiB a client sends, then runs `client(port)`. */
async function capture(client: (port: number) => void): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      const chunks: Buffer[] = []
      const timer = setTimeout(() => {
        socket.destroy()
        server.close()
        resolve(Buffer.concat(chunks))
      }, 700)
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('error', () => undefined)
      socket.on('close', () => {
        clearTimeout(timer)
        server.close()
        resolve(Buffer.concat(chunks))
      })
    })
    server.listen(0, '127.0.0.1', () => {
      client((server.address() as AddressInfo).port)
    })
  })
}

function run(cmd: string, args: string[]): void {
  execFile(cmd, args, { timeout: 3000 }, () => undefined)
}

const files: Record<string, Buffer> = {
  'node-sni-alpn.bin': await capture((port) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'mcr.microsoft.com', ALPNProtocols: ['h2', 'http/1.1'] })
    s.on('error', () => undefined)
  }),
  'openssl-sni-alpn-konnectivity.bin': await capture((port) => {
    run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'x.hcp.westeurope.azmk8s.io', '-alpn', 'konnectivity'])
  }),
  'openssl-no-sni.bin': await capture((port) => {
    run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-noservername'])
  }),
  'curl-sni.bin': await capture((port) => {
    run('curl', ['-sk', '--connect-to', `mcr.microsoft.com:443:127.0.0.1:${port}`, 'https://mcr.microsoft.com/'])
  }),
  'python-sni.bin': await capture((port) => {
    run('python3', ['-c', `import socket,ssl; c=ssl.create_default_context(); s=c.wrap_socket(socket.create_connection(("127.0.0.1",${port})), server_hostname="westeurope.data.mcr.microsoft.com")`])
  }),
  'split-records.bin': buildClientHello({ sni: 'mcr.microsoft.com', alpn: ['h2'], recordBytes: 40 }),
  'large-17k-two-records.bin': buildClientHello({ sni: 'mcr.microsoft.com', paddingBytes: 17_000 }),
  'no-extensions.bin': buildClientHello({ noExtensions: true }),
  'grease.bin': buildClientHello({ sni: 'mcr.microsoft.com', alpn: ['\u001a\u001a', 'h2'], extensions: [[0x0a0a, new Uint8Array(0)], [0xfafa, new Uint8Array([0])]] }),
  'duplicate-extension.bin': buildClientHello({ sni: 'mcr.microsoft.com', extensions: [[43, new Uint8Array([2, 3, 4])]] }),
  // server_name list of 10 bytes: host_name "aa", host_name "bb".
  'two-host-names.bin': buildClientHello({ extensions: [[0, new Uint8Array([0, 10, 0, 0, 2, 0x61, 0x61, 0, 0, 2, 0x62, 0x62])]] }),
  'sni-non-ascii.bin': buildClientHello({ sni: 'mcr.micr\u00f6soft.com' }),
  'empty-record.bin': Buffer.concat([Buffer.from([22, 3, 1, 0, 0]), buildClientHello({ sni: 'mcr.microsoft.com' })]),
  'interleaved-alert.bin': (() => {
    const m = clientHelloMessage({ sni: 'mcr.microsoft.com' })
    const a = inRecords(m.subarray(0, 20))
    return Buffer.concat([a, Buffer.from([21, 3, 3, 0, 2, 1, 0]), inRecords(m.subarray(20))])
  })(),
  'not-tls-http.bin': Buffer.from('GET / HTTP/1.1\r\nHost: mcr.microsoft.com\r\n\r\n'),
  'sslv2-compatible-hello.bin': Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]),
  'truncated.bin': buildClientHello({ sni: 'mcr.microsoft.com' }).subarray(0, 60),
}
for (const [name, bytes] of Object.entries(files)) {
  writeFileSync(dir + name, bytes)
  console.log(`${name}: ${bytes.length} bytes`)
}
