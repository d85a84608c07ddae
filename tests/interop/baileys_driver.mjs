// Drives one unmodified Baileys client for the wamd interop tests.
//
// Protocol: one JSON object per line on stdin (commands), one JSON object per line on stdout
// (replies and events). Logs go to stderr (pino, warn by default, debug with BAILEYS_DEBUG=1).
//
//   command: {"id": 1, "cmd": "send_text", "jid": "...", "text": "..."}
//   reply:   {"id": 1, "ok": true, ...}  or  {"id": 1, "ok": false, "error": "...", "status": 428}
//   event:   {"event": "connection", "seq": 7, ...}
//
// The only change made to Baileys is the documented one: the sandbox's root public key is copied
// into the exported WA_CERT_DETAILS.PUBLIC_KEY buffer, which the noise handler reads on every
// handshake to verify the server's certificate chain.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import makeWASocket, {
	DisconnectReason,
	WA_CERT_DETAILS,
	downloadMediaMessage,
	makeCacheableSignalKeyStore,
	normalizeMessageContent,
	proto,
	useMultiFileAuthState
} from 'baileys'
import pino from 'pino'

const BAILEYS_VERSION = JSON.parse(
	readFileSync(createRequire(import.meta.url).resolve('baileys/package.json'), 'utf-8')
).version
const MESSAGE_CACHE_LIMIT = 5000
const SHUTDOWN_STEP_MS = 5000

// ---------------------------------------------------------------------------------------------
// output

let eventSeq = 0

// Baileys hands out Buffers, Uint8Arrays and protobufjs Longs; JSON has none of them.
const jsonReplacer = (_key, value) => {
	if (typeof value === 'bigint') return value.toString()
	if (value && typeof value === 'object') {
		if (value.type === 'Buffer' && Array.isArray(value.data)) {
			return { b64: Buffer.from(value.data).toString('base64') }
		}
		if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') }
		if (typeof value.toNumber === 'function' && 'low' in value && 'high' in value) {
			return value.toNumber()
		}
		if (value instanceof Error) return { message: value.message }
	}
	return value
}

const writeLine = obj => {
	let line
	try {
		line = JSON.stringify(obj, jsonReplacer)
	} catch (err) {
		line = JSON.stringify({ event: 'error', where: 'serialize', error: String(err?.message ?? err) })
	}
	process.stdout.write(line + '\n')
}

const emit = (event, fields = {}) => writeLine({ event, seq: ++eventSeq, ...fields })

const describeError = err => ({
	error: String(err?.message ?? err),
	status: statusOf(err),
	stack: typeof err?.stack === 'string' ? err.stack : undefined
})

const emitError = (where, err) => emit('error', { where, ...describeError(err) })

process.on('uncaughtException', err => emitError('uncaughtException', err))
process.on('unhandledRejection', err => emitError('unhandledRejection', err))

// ---------------------------------------------------------------------------------------------
// configuration

const parseConfig = () => {
	const { values } = parseArgs({
		options: {
			url: { type: 'string' },
			'root-key': { type: 'string' },
			'auth-dir': { type: 'string' },
			'push-name': { type: 'string' }
		},
		strict: true
	})
	const env = process.env
	const url = values.url ?? env.BAILEYS_WS_URL
	const authDir = values['auth-dir'] ?? env.BAILEYS_AUTH_DIR
	if (!url) throw new Error('missing --url (or BAILEYS_WS_URL)')
	if (!authDir) throw new Error('missing --auth-dir (or BAILEYS_AUTH_DIR)')
	const parsed = new URL(url)
	if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
		throw new Error(`websocket url must be ws:// or wss://, got ${url}`)
	}
	const rootKeyHex = values['root-key'] ?? env.BAILEYS_ROOT_KEY
	return {
		url: parsed.toString(),
		secure: parsed.protocol === 'wss:',
		rootKey: rootKeyHex ? parseRootKey(rootKeyHex) : undefined,
		authDir,
		pushName: values['push-name'] ?? env.BAILEYS_PUSH_NAME ?? 'wamd-interop',
		logLevel: env.BAILEYS_LOG_LEVEL ?? (env.BAILEYS_DEBUG === '1' ? 'debug' : 'warn')
	}
}

const parseRootKey = hex => {
	if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
		throw new Error(`root key must be 64 hex characters (32 bytes), got ${JSON.stringify(hex)}`)
	}
	return Buffer.from(hex, 'hex')
}

// Copy into the existing buffer rather than replacing the property: the object and the buffer
// stay Baileys' own, only the trusted bytes change.
const swapRootKey = key => {
	const target = WA_CERT_DETAILS.PUBLIC_KEY
	if (target.length !== key.length) {
		throw new Error(`Baileys root key is ${target.length} bytes, replacement is ${key.length}`)
	}
	target.set(key)
}

// Overrides `connect` may pass to makeWASocket; anything else is refused so typos are loud.
const SOCKET_OPTIONS = {
	connectTimeoutMs: 'number',
	defaultQueryTimeoutMs: 'number',
	keepAliveIntervalMs: 'number',
	qrTimeout: 'number',
	retryRequestDelayMs: 'number',
	markOnlineOnConnect: 'boolean',
	fireInitQueries: 'boolean',
	syncFullHistory: 'boolean',
	emitOwnEvents: 'boolean'
}

const parseSocketOptions = raw => {
	const out = {}
	for (const [name, value] of Object.entries(raw ?? {})) {
		if (name === 'version') {
			if (!Array.isArray(value) || value.length !== 3 || !value.every(Number.isInteger)) {
				throw new Error('option version must be three integers')
			}
			out.version = value
			continue
		}
		const type = SOCKET_OPTIONS[name]
		if (!type) throw new Error(`unsupported socket option ${JSON.stringify(name)}`)
		if (typeof value !== type) throw new Error(`socket option ${name} must be a ${type}`)
		out[name] = value
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// describing Baileys values as plain JSON

function statusOf(err) {
	const code = err?.output?.statusCode ?? err?.data?.statusCode
	return typeof code === 'number' ? code : null
}

const statusName = code => (code === null ? null : (DisconnectReason[code] ?? null))

const describeKey = key =>
	key && {
		remoteJid: key.remoteJid ?? null,
		fromMe: Boolean(key.fromMe),
		id: key.id ?? null,
		participant: key.participant ?? null,
		remoteJidAlt: key.remoteJidAlt ?? null,
		participantAlt: key.participantAlt ?? null,
		addressingMode: key.addressingMode ?? null
	}

const toNumber = value => {
	if (value === null || value === undefined) return null
	if (typeof value === 'number') return value
	if (typeof value === 'bigint') return Number(value)
	if (typeof value.toNumber === 'function') return value.toNumber()
	const n = Number(value)
	return Number.isFinite(n) ? n : null
}

const messageStatusName = code =>
	code === null || code === undefined ? null : (proto.WebMessageInfo.Status[code] ?? null)

// The media fields of a message, keyed by the content type Baileys uses for each kind.
const MEDIA_CONTENT = {
	imageMessage: 'image',
	videoMessage: 'video',
	audioMessage: 'audio',
	documentMessage: 'document',
	stickerMessage: 'sticker'
}

const describeMedia = content => {
	for (const [field, kind] of Object.entries(MEDIA_CONTENT)) {
		const media = content[field]
		if (!media) continue
		return {
			kind,
			mimetype: media.mimetype ?? null,
			fileSha256: media.fileSha256 ? Buffer.from(media.fileSha256).toString('base64') : null,
			fileLength: toNumber(media.fileLength),
			ptt: typeof media.ptt === 'boolean' ? media.ptt : null,
			fileName: media.fileName ?? null,
			caption: media.caption ?? null
		}
	}
	return null
}

const describeMessage = msg => {
	const content = normalizeMessageContent(msg.message) ?? {}
	const extended = content.extendedTextMessage
	const reaction = content.reactionMessage
	const protocolMessage = content.protocolMessage
	return {
		key: describeKey(msg.key),
		pushName: msg.pushName ?? null,
		timestamp: toNumber(msg.messageTimestamp),
		status: msg.status ?? null,
		statusName: messageStatusName(msg.status),
		contentTypes: Object.keys(content).filter(k => content[k] !== null && content[k] !== undefined),
		text: content.conversation ?? extended?.text ?? null,
		conversation: content.conversation ?? null,
		extendedText: extended
			? {
					text: extended.text ?? null,
					quotedId: extended.contextInfo?.stanzaId ?? null,
					quotedParticipant: extended.contextInfo?.participant ?? null
				}
			: null,
		reaction: reaction ? { text: reaction.text ?? '', key: describeKey(reaction.key) } : null,
		protocolType: protocolMessage ? (protocolMessage.type ?? null) : null,
		media: describeMedia(content),
		messageStubType: msg.messageStubType ?? null,
		messageStubParameters: msg.messageStubParameters ?? null
	}
}

const describeGroup = meta => ({
	id: meta.id ?? null,
	subject: meta.subject ?? null,
	owner: meta.owner ?? null,
	creation: toNumber(meta.creation),
	size: meta.size ?? null,
	addressingMode: meta.addressingMode ?? null,
	participants: Array.isArray(meta.participants)
		? meta.participants.map(p => ({
				id: p.id ?? null,
				phoneNumber: p.phoneNumber ?? null,
				lid: p.lid ?? null,
				admin: p.admin ?? null
			}))
		: null
})

const describeMe = me =>
	me ? { id: me.id ?? null, lid: me.lid ?? null, name: me.name ?? null } : null

// ---------------------------------------------------------------------------------------------
// state

const startup = () => {
	try {
		const parsed = parseConfig()
		if (parsed.rootKey) swapRootKey(parsed.rootKey)
		return parsed
	} catch (err) {
		emit('error', { where: 'startup', ...describeError(err) })
		process.exit(2)
	}
}

const config = startup()
const logger = pino({ level: config.logLevel }, pino.destination({ dest: 2, sync: true }))
const agent = config.secure ? new Agent({ rejectUnauthorized: false }) : undefined

/** The messages this client sent or received, by id: for quoting, reacting and retry receipts. */
const messages = new Map()
const remember = msg => {
	const id = msg?.key?.id
	if (!id) return
	messages.delete(id)
	messages.set(id, msg)
	if (messages.size > MESSAGE_CACHE_LIMIT) messages.delete(messages.keys().next().value)
}

const pendingSaves = new Set()
const track = promise => {
	pendingSaves.add(promise)
	promise
		.catch(err => emitError('saveCreds', err))
		.finally(() => pendingSaves.delete(promise))
	return promise
}
const flushSaves = async () => {
	while (pendingSaves.size) await Promise.allSettled([...pendingSaves])
}

let generation = 0
/** @type {{ sock: any, generation: number, closed: boolean } | null} */
let current = null
let shuttingDown = false
let socketOptions = {}

const guarded = (where, handler) => async arg => {
	try {
		await handler(arg)
	} catch (err) {
		emitError(where, err)
	}
}

/** Set while a socket is being created, so a connect cannot race the 515 reconnect. */
let opening = null

const openSocket = () => {
	opening ??= createSocket().finally(() => {
		opening = null
	})
	return opening
}

const createSocket = async () => {
	await flushSaves()
	const { state, saveCreds } = await useMultiFileAuthState(config.authDir)
	// useMultiFileAuthState makes fresh creds in memory only; Baileys saves them on its first
	// creds.update. Save them now so a socket that closes before that (QR expiry, an injected
	// restart) comes back with the same noise and identity keys, as a real installation would.
	await track(saveCreds())
	const gen = ++generation
	const sock = makeWASocket({
		...socketOptions,
		auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
		waWebSocketUrl: config.url,
		// carried in the registration ClientPayload; a sandbox may derive the phone number from it
		pushName: config.pushName,
		logger,
		agent,
		fetchAgent: agent,
		getMessage: async key => messages.get(key.id)?.message ?? undefined
	})
	const entry = { sock, generation: gen, closed: false }
	current = entry
	const on = (name, where, handler) => sock.ev.on(name, guarded(where, handler))

	on('creds.update', 'creds.update', update => {
		track(saveCreds())
		emit('creds', {
			socket: gen,
			fields: Object.keys(update),
			me: describeMe(update.me ?? state.creds.me),
			registered: state.creds.registered ?? null
		})
	})

	on('connection.update', 'connection.update', update => {
		const error = update.lastDisconnect?.error
		const status = error ? statusOf(error) : null
		emit('connection', {
			socket: gen,
			connection: update.connection ?? null,
			qr: update.qr ?? null,
			isNewLogin: update.isNewLogin ?? null,
			isOnline: update.isOnline ?? null,
			receivedPendingNotifications: update.receivedPendingNotifications ?? null,
			status,
			statusName: statusName(status),
			error: error ? String(error.message ?? error) : null
		})
		if (update.connection !== 'close') return
		entry.closed = true
		// Baileys ends the socket after pairing (stream:error 515) and leaves the reconnect to the
		// application; a fresh socket then logs in with the credentials saved during pairing.
		if (status === DisconnectReason.restartRequired && !shuttingDown && current === entry) {
			emit('reconnect', { socket: gen, reason: 'restartRequired' })
			openSocket().catch(err => emitError('reconnect', err))
		}
	})

	on('messages.upsert', 'messages.upsert', ({ messages: batch, type, requestId }) => {
		for (const msg of batch) {
			remember(msg)
			emit('message', { socket: gen, type, requestId: requestId ?? null, ...describeMessage(msg) })
		}
	})

	on('messages.update', 'messages.update', updates => {
		for (const { key, update } of updates) {
			const status = update.status ?? null
			emit('message_update', {
				socket: gen,
				key: describeKey(key),
				status,
				statusName: messageStatusName(status),
				fields: Object.keys(update)
			})
		}
	})

	on('message-receipt.update', 'message-receipt.update', updates => {
		for (const { key, receipt } of updates) {
			emit('receipt', {
				socket: gen,
				key: describeKey(key),
				userJid: receipt.userJid ?? null,
				receiptTimestamp: toNumber(receipt.receiptTimestamp),
				readTimestamp: toNumber(receipt.readTimestamp),
				playedTimestamp: toNumber(receipt.playedTimestamp)
			})
		}
	})

	on('groups.upsert', 'groups.upsert', groups => {
		emit('groups', { socket: gen, kind: 'upsert', groups: groups.map(describeGroup) })
	})
	on('groups.update', 'groups.update', groups => {
		emit('groups', { socket: gen, kind: 'update', groups: groups.map(describeGroup) })
	})
	on('group-participants.update', 'group-participants.update', update => {
		emit('group_participants', {
			socket: gen,
			id: update.id,
			author: update.author ?? null,
			action: update.action,
			participants: (update.participants ?? []).map(p => (typeof p === 'string' ? p : p.id))
		})
	})

	on('messaging-history.set', 'messaging-history.set', set => {
		for (const msg of set.messages ?? []) remember(msg)
		emit('history', {
			socket: gen,
			chats: set.chats?.length ?? 0,
			contacts: set.contacts?.length ?? 0,
			messages: set.messages?.length ?? 0,
			isLatest: set.isLatest ?? null,
			progress: set.progress ?? null,
			syncType: set.syncType ?? null
		})
	})

	return gen
}

// ---------------------------------------------------------------------------------------------
// commands

class CommandError extends Error {}

const requireSocket = () => {
	if (!current || current.closed) throw new CommandError('not connected: send "connect" first')
	return current.sock
}

const str = (params, name) => {
	const value = params[name]
	if (typeof value !== 'string' || value === '') {
		throw new CommandError(`"${name}" must be a non-empty string`)
	}
	return value
}

const messageKeyFrom = raw => {
	if (!raw || typeof raw !== 'object') throw new CommandError('message key must be an object')
	if (typeof raw.remoteJid !== 'string' || typeof raw.id !== 'string') {
		throw new CommandError('message key needs string "remoteJid" and "id"')
	}
	const key = { remoteJid: raw.remoteJid, id: raw.id, fromMe: Boolean(raw.fromMe) }
	if (typeof raw.participant === 'string') key.participant = raw.participant
	return key
}

const knownMessage = id => {
	const msg = messages.get(id)
	if (!msg) throw new CommandError(`no message with id ${JSON.stringify(id)} seen by this client`)
	return msg
}

const sent = msg => {
	if (!msg) throw new Error('sendMessage returned nothing')
	remember(msg)
	return { key: describeKey(msg.key), timestamp: toNumber(msg.messageTimestamp) }
}

const mediaContent = params => {
	const type = str(params, 'type')
	const mimetype = str(params, 'mimetype')
	const data = Buffer.from(str(params, 'data_base64'), 'base64')
	if (data.length === 0) throw new CommandError('"data_base64" decodes to no bytes')
	const caption = typeof params.caption === 'string' ? params.caption : undefined
	if (type === 'image') return { image: data, mimetype, caption }
	if (type === 'audio') return { audio: data, mimetype, ptt: params.ptt === true }
	if (type === 'document') {
		return { document: data, mimetype, fileName: str(params, 'fileName'), caption }
	}
	throw new CommandError(`"type" must be image, audio or document, got ${JSON.stringify(type)}`)
}

const commands = {
	async root_key() {
		return { root_key: WA_CERT_DETAILS.PUBLIC_KEY.toString('hex') }
	},

	async version() {
		return { baileys: BAILEYS_VERSION, node: process.versions.node }
	},

	async connect(params) {
		if (opening) throw new CommandError('a socket is already being created')
		if (current && !current.closed) {
			throw new CommandError(`socket ${current.generation} is still open; disconnect it first`)
		}
		socketOptions = parseSocketOptions(params.options)
		return { socket: await openSocket() }
	},

	async disconnect() {
		const sock = requireSocket()
		await sock.end(undefined)
		return {}
	},

	async me() {
		return { user: describeMe(current?.sock.user) }
	},

	async send_text(params) {
		const sock = requireSocket()
		return sent(await sock.sendMessage(str(params, 'jid'), { text: str(params, 'text') }))
	},

	async group_send(params) {
		const jid = str(params, 'jid')
		if (!jid.endsWith('@g.us')) throw new CommandError(`not a group jid: ${jid}`)
		const sock = requireSocket()
		return sent(await sock.sendMessage(jid, { text: str(params, 'text') }))
	},

	async send_reply(params) {
		const sock = requireSocket()
		const quoted = knownMessage(str(params, 'quoted_id'))
		const jid = typeof params.jid === 'string' ? params.jid : quoted.key.remoteJid
		return sent(await sock.sendMessage(jid, { text: str(params, 'text') }, { quoted }))
	},

	async send_reaction(params) {
		const sock = requireSocket()
		const key = params.key ? messageKeyFrom(params.key) : knownMessage(str(params, 'msg_id')).key
		if (typeof params.emoji !== 'string') throw new CommandError('"emoji" must be a string')
		const jid = typeof params.jid === 'string' ? params.jid : key.remoteJid
		return sent(await sock.sendMessage(jid, { react: { text: params.emoji, key } }))
	},

	async send_media(params) {
		const sock = requireSocket()
		return sent(await sock.sendMessage(str(params, 'jid'), mediaContent(params)))
	},

	async download(params) {
		const msg = knownMessage(str(params, 'message_id'))
		const data = await downloadMediaMessage(msg, 'buffer', {})
		return {
			data_base64: data.toString('base64'),
			sha256: createHash('sha256').update(data).digest('hex'),
			length: data.length
		}
	},

	async read(params) {
		const sock = requireSocket()
		if (!Array.isArray(params.keys) || params.keys.length === 0) {
			throw new CommandError('"keys" must be a non-empty list of message keys')
		}
		await sock.readMessages(params.keys.map(messageKeyFrom))
		return {}
	},

	async group_create(params) {
		const sock = requireSocket()
		const participants = params.participants
		if (!Array.isArray(participants) || !participants.every(p => typeof p === 'string')) {
			throw new CommandError('"participants" must be a list of jids')
		}
		const meta = await sock.groupCreate(str(params, 'subject'), participants)
		return { group: describeGroup(meta) }
	},

	async logout() {
		await requireSocket().logout()
		return {}
	},

	async end() {
		return {}
	}
}

// ---------------------------------------------------------------------------------------------
// main loop

const withTimeout = (promise, ms) =>
	Promise.race([promise, new Promise(resolve => setTimeout(resolve, ms).unref())])

const shutdown = async reason => {
	if (shuttingDown) return
	shuttingDown = true
	try {
		if (current && !current.closed) await withTimeout(current.sock.end(undefined), SHUTDOWN_STEP_MS)
		await withTimeout(flushSaves(), SHUTDOWN_STEP_MS)
	} catch (err) {
		emitError('shutdown', err)
	}
	emit('exit', { reason })
	process.exit(0)
}

const handleLine = async line => {
	if (!line.trim()) return
	let request
	try {
		request = JSON.parse(line)
	} catch (err) {
		emitError('parse', err)
		return
	}
	const { id, cmd, ...params } = request ?? {}
	if (id === undefined) {
		emit('error', { where: 'command', error: 'command without "id"', line })
		return
	}
	const handler = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined
	if (!handler) {
		writeLine({ id, ok: false, error: `unknown command ${JSON.stringify(cmd)}`, status: null })
		return
	}
	if (shuttingDown) {
		writeLine({ id, ok: false, error: 'driver is shutting down', status: null })
		return
	}
	try {
		const result = await handler(params)
		writeLine({ id, ok: true, ...result })
	} catch (err) {
		const { error, status } = describeError(err)
		writeLine({ id, ok: false, error, status })
		if (!(err instanceof CommandError)) logger.warn({ err, cmd }, 'command failed')
	}
	if (cmd === 'end') await shutdown('end')
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity })
input.on('line', line => void handleLine(line))
input.on('close', () => void shutdown('stdin closed'))

emit('ready', {
	baileys: BAILEYS_VERSION,
	node: process.versions.node,
	root_key: WA_CERT_DETAILS.PUBLIC_KEY.toString('hex'),
	url: config.url,
	pid: process.pid
})
