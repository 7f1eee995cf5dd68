import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProxyMetrics } from './proxy-metrics.ts'

async function series(m: ProxyMetrics, name: string): Promise<string[]> {
  const text = await m.registry.getSingleMetricAsString(name)
  return text.split('\n').filter((l) => l.startsWith(name))
}

test('decisions counted in plain numbers reach the counter at each scrape, adding up across scrapes', async () => {
  const m = new ProxyMetrics(false)
  m.decided('explicit', 'allow', 'APPLICATION_RULE_ALLOW', 'c/r/allow')
  m.decided('explicit', 'allow', 'APPLICATION_RULE_ALLOW', 'c/r/allow')
  m.decided('tls:443', 'deny', 'DEFAULT_DENY', null)
  assert.deepEqual(await series(m, 'aks_egress_decisions_total'), [
    'aks_egress_decisions_total{listener="explicit",action="allow",code="APPLICATION_RULE_ALLOW",rule="c/r/allow"} 2',
    'aks_egress_decisions_total{listener="tls:443",action="deny",code="DEFAULT_DENY",rule=""} 1',
  ])
  m.decided('explicit', 'allow', 'APPLICATION_RULE_ALLOW', 'c/r/allow')
  assert.deepEqual(await series(m, 'aks_egress_decisions_total'), [
    'aks_egress_decisions_total{listener="explicit",action="allow",code="APPLICATION_RULE_ALLOW",rule="c/r/allow"} 3',
    'aks_egress_decisions_total{listener="tls:443",action="deny",code="DEFAULT_DENY",rule=""} 1',
  ])
})

test('open connections and tunnels are gauges of the current count; bytes and pool hits are counters', async () => {
  const m = new ProxyMetrics(false)
  m.connectionOpened('explicit')
  m.connectionOpened('explicit')
  m.connectionOpened('tls:443')
  m.connectionClosed('explicit')
  m.tunnelOpened()
  m.tunnelOpened()
  m.tunnelClosed()
  m.relayedBytes(10, 100)
  m.poolHit()
  m.poolMiss()
  m.poolMiss()
  assert.deepEqual(await series(m, 'aks_egress_connections_open'), ['aks_egress_connections_open{listener="explicit"} 1', 'aks_egress_connections_open{listener="tls:443"} 1'])
  assert.deepEqual(await series(m, 'aks_egress_tunnels_open'), ['aks_egress_tunnels_open 1'])
  m.relayedBytes(5, 50)
  m.connectionClosed('tls:443')
  assert.deepEqual(await series(m, 'aks_egress_relayed_bytes_total'), ['aks_egress_relayed_bytes_total{direction="up"} 15', 'aks_egress_relayed_bytes_total{direction="down"} 150'])
  assert.deepEqual(await series(m, 'aks_egress_connections_open'), ['aks_egress_connections_open{listener="explicit"} 1', 'aks_egress_connections_open{listener="tls:443"} 0'])
  assert.deepEqual(await series(m, 'aks_egress_origin_pool_hits_total'), ['aks_egress_origin_pool_hits_total 1'])
  assert.deepEqual(await series(m, 'aks_egress_origin_pool_misses_total'), ['aks_egress_origin_pool_misses_total 2'])
})
