// One unmodified Baileys client, timed by bench/vs_baileys.py.
//
// Lean on purpose: it does what an application on Baileys does (standard multi-file auth state,
// the cacheable key store, messages.upsert) and keeps its own counters, so the benchmark measures
// Baileys and not a JSON line per message. Only the sandbox's root key is swapped in (the same
// documented change the interop driver makes).
//
// stdin, one JSON command per line:
//   {"cmd": "connect", "expect": N?, "prefix": P?}            -> {"event": "qr", "qr": ...} ... {"event": "open"}
//   {"cmd": "expect", "count": N, "prefix": P}  (counts texts starting with P; once N arrived:)
//        -> {"event": "received", "count", "first_ms", "last_ms", "cpu_first_us", "cpu_last_us"}
//   {"cmd": "send", "to": jid, "count": N, "inflight": K}
//        -> {"event": "sent", "count", "elapsed_ms", "latencies_ms", "written_latencies_ms"}
//        Each send counts once the server acked it (its <ack class="message">), as the daemon's
//        `sent` does; `sendMessage` itself resolves as soon as the stanza is written to the socket
//        (those latencies are reported too).
//   {"cmd": "cpu"}                              -> {"event": "cpu", "user_us", "system_us", "rss"}
//   {"cmd": "quit"}
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import makeWASocket, {
	DisconnectReason,
	WA_CERT_DETAILS,
	makeCacheableSignalKeyStore,
	useMultiFileAuthState
} from 'baileys'
import pino from 'pino'

const [url, rootKeyHex, authDir] = process.argv.slice(2)
if (!url || !rootKeyHex || !authDir) {
	process.stderr.write('usage: node peer.mjs WS_URL ROOT_KEY_HEX AUTH_DIR\n')
	process.exit(2)
}
WA_CERT_DETAILS.PUBLIC_KEY.set(Buffer.from(rootKeyHex, 'hex'))
const logger = pino({ level: process.env.BAILEYS_LOG_LEVEL ?? 'silent' })
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')

let sock = null
let expected = 0
let prefix = ''
let received = 0
let firstMs = null
let lastMs = null
let cpuFirst = null
let cpuLast = null
const cpuNow = () => {
	const usage = process.cpuUsage()
	return usage.user + usage.system
}
const expectCount = (count, textPrefix) => {
	expected = count
	prefix = textPrefix ?? ''
	received = 0
	firstMs = lastMs = cpuFirst = cpuLast = null
}

// Baileys emits nothing for a successful server ack, so the peer listens for the ack stanza
// itself. An ack may be handled before `sendMessage` returns: acks are kept until claimed.
const acked = new Map()
const ackWaiters = new Map()
const onAck = node => {
	const id = node.attrs.id
	const waiter = ackWaiters.get(id)
	if (waiter) {
		ackWaiters.delete(id)
		waiter(performance.now())
	} else acked.set(id, performance.now())
}
const serverAck = id => {
	const at = acked.get(id)
	if (at !== undefined) {
		acked.delete(id)
		return Promise.resolve(at)
	}
	return new Promise(resolve => ackWaiters.set(id, resolve))
}

const connect = async () => {
	const { state, saveCreds } = await useMultiFileAuthState(authDir)
	sock = makeWASocket({
		auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
		waWebSocketUrl: url,
		logger,
		markOnlineOnConnect: false,
		syncFullHistory: false
	})
	sock.ev.on('creds.update', saveCreds)
	sock.ws.on('CB:ack,class:message', onAck)
	sock.ev.on('connection.update', update => {
		if (update.qr) say({ event: 'qr', qr: update.qr })
		if (update.connection === 'open') say({ event: 'open', me: sock.user?.id ?? null })
		if (update.connection === 'close') {
			const code = update.lastDisconnect?.error?.output?.statusCode
			if (code === DisconnectReason.restartRequired) connect()
			else say({ event: 'closed', code: code ?? null })
		}
	})
	sock.ev.on('messages.upsert', ({ messages }) => {
		for (const msg of messages) {
			if (msg.key.fromMe || !msg.message) continue
			const text = msg.message.conversation ?? msg.message.extendedTextMessage?.text ?? ''
			if (!text.startsWith(prefix)) continue
			const now = performance.now()
			if (firstMs === null) {
				firstMs = now
				cpuFirst = cpuNow()
			}
			lastMs = now
			received += 1
			if (expected && received === expected) {
				cpuLast = cpuNow()
				say({
					event: 'received',
					count: received,
					first_ms: firstMs,
					last_ms: lastMs,
					cpu_first_us: cpuFirst,
					cpu_last_us: cpuLast
				})
			}
		}
	})
}

const send = async ({ to, count, inflight }) => {
	const latencies = []
	const writtenLatencies = []
	let next = 0
	const started = performance.now()
	const worker = async () => {
		while (next < count) {
			const index = next++
			const t0 = performance.now()
			const message = await sock.sendMessage(to, { text: `baileys bench ${index}` })
			writtenLatencies.push(performance.now() - t0)
			const ackedAt = await serverAck(message.key.id)
			latencies.push(ackedAt - t0)
		}
	}
	await Promise.all(Array.from({ length: inflight }, worker))
	say({
		event: 'sent',
		count,
		elapsed_ms: performance.now() - started,
		latencies_ms: latencies,
		written_latencies_ms: writtenLatencies
	})
}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
	const command = JSON.parse(line)
	try {
		if (command.cmd === 'connect') {
			if (command.expect) expectCount(command.expect, command.prefix)
			await connect()
		} else if (command.cmd === 'expect') {
			expectCount(command.count, command.prefix)
			say({ event: 'expecting', count: expected })
		} else if (command.cmd === 'send') await send(command)
		else if (command.cmd === 'cpu') {
			const usage = process.resourceUsage()
			say({ event: 'cpu', user_us: usage.userCPUTime, system_us: usage.systemCPUTime, rss: process.memoryUsage().rss })
		} else if (command.cmd === 'quit') {
			sock?.end(undefined)
			break
		}
	} catch (err) {
		say({ event: 'error', cmd: command.cmd, error: String(err?.message ?? err) })
	}
}
process.exit(0)
