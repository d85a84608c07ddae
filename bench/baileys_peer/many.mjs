// Many unmodified Baileys sockets in one node process, driven by bench/vs_baileys_sessions.py.
//
// Each socket is what a Baileys application runs per WhatsApp account: its own standard
// multi-file auth state (AUTH_ROOT/<index>), the cacheable key store, messages.upsert. Run with
// `node --expose-gc` so `mem` can collect garbage before reading the resident set. Only the
// sandbox's root key is swapped in (the same documented change peer.mjs makes).
//
// stdin, one JSON command per line:
//   {"cmd": "open", "index": I}        -> {"event": "qr", "index", "qr"}... {"event": "open", "index"}
//   {"cmd": "expect", "count": N, "prefix": P, "sockets": S}  (N texts starting with P on S sockets)
//        -> {"event": "expecting"} ... {"event": "received", "sockets": [[count, first_ms, last_ms]...],
//                                       "cpu_first_us", "cpu_last_us"}
//   {"cmd": "send", "index": I, "to": jid}       -> {"event": "sent", "index"}
//   {"cmd": "mem"}                     -> {"event": "mem", "rss", "heap_used", "external", "sockets"}
//   {"cmd": "quit"}
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import makeWASocket, {
	DisconnectReason,
	WA_CERT_DETAILS,
	makeCacheableSignalKeyStore,
	useMultiFileAuthState
} from 'baileys'
import pino from 'pino'

const [url, rootKeyHex, authRoot] = process.argv.slice(2)
if (!url || !rootKeyHex || !authRoot) {
	process.stderr.write('usage: node --expose-gc many.mjs WS_URL ROOT_KEY_HEX AUTH_ROOT\n')
	process.exit(2)
}
WA_CERT_DETAILS.PUBLIC_KEY.set(Buffer.from(rootKeyHex, 'hex'))
const logger = pino({ level: process.env.BAILEYS_LOG_LEVEL ?? 'silent' })
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const cpuNow = () => {
	const usage = process.cpuUsage()
	return usage.user + usage.system
}

const sockets = new Map()
let expected = 0
let expectedSockets = 0
let prefix = ''
let counts = new Map()
let cpuFirst = null
let reported = false

const expectCount = (count, textPrefix, socketCount) => {
	expected = count
	expectedSockets = socketCount
	prefix = textPrefix
	counts = new Map()
	cpuFirst = null
	reported = false
}

const checkDone = () => {
	if (reported || !expected || counts.size < expectedSockets) return
	for (const entry of counts.values()) if (entry[0] < expected) return
	reported = true
	const ordered = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([, entry]) => entry)
	say({ event: 'received', sockets: ordered, cpu_first_us: cpuFirst, cpu_last_us: cpuNow() })
}

const open = async index => {
	const { state, saveCreds } = await useMultiFileAuthState(join(authRoot, String(index)))
	const sock = makeWASocket({
		auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
		waWebSocketUrl: url,
		logger,
		markOnlineOnConnect: false,
		syncFullHistory: false
	})
	sockets.set(index, sock)
	sock.ev.on('creds.update', saveCreds)
	sock.ev.on('connection.update', update => {
		if (update.qr) say({ event: 'qr', index, qr: update.qr })
		if (update.connection === 'open') say({ event: 'open', index })
		if (update.connection === 'close') {
			const code = update.lastDisconnect?.error?.output?.statusCode
			if (code === DisconnectReason.restartRequired) open(index)
			else say({ event: 'closed', index, code: code ?? null })
		}
	})
	sock.ev.on('messages.upsert', ({ messages }) => {
		if (!expected) return
		for (const msg of messages) {
			if (msg.key.fromMe || !msg.message) continue
			const text = msg.message.conversation ?? msg.message.extendedTextMessage?.text ?? ''
			if (!text.startsWith(prefix)) continue
			const now = Date.now()
			if (cpuFirst === null) cpuFirst = cpuNow()
			const entry = counts.get(index) ?? [0, now, now]
			entry[0] += 1
			entry[2] = now
			counts.set(index, entry)
		}
		checkDone()
	})
}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
	const command = JSON.parse(line)
	try {
		if (command.cmd === 'open') await open(command.index)
		else if (command.cmd === 'expect') {
			expectCount(command.count, command.prefix, command.sockets)
			say({ event: 'expecting' })
		} else if (command.cmd === 'send') {
			sockets
				.get(command.index)
				.sendMessage(command.to, { text: 'hi' })
				.then(() => say({ event: 'sent', index: command.index }))
				.catch(err => say({ event: 'error', cmd: 'send', error: String(err?.message ?? err) }))
		} else if (command.cmd === 'mem') {
			for (let i = 0; i < 3; i++) {
				global.gc()
				await new Promise(resolve => setTimeout(resolve, 200))
			}
			const usage = process.memoryUsage()
			say({
				event: 'mem',
				rss: usage.rss,
				heap_used: usage.heapUsed,
				external: usage.external,
				sockets: sockets.size
			})
		} else if (command.cmd === 'quit') {
			for (const sock of sockets.values()) sock.end(undefined)
			break
		}
	} catch (err) {
		say({ event: 'error', cmd: command.cmd, error: String(err?.message ?? err) })
	}
}
process.exit(0)
