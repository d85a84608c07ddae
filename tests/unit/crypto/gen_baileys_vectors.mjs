// Regenerates baileys_crypto_vectors.json: media, media-retry, LTHash, app-state and history
// vectors produced by Baileys (the npm package tests/interop installs; run `npm ci` there first).
// Usage: node tests/unit/crypto/gen_baileys_vectors.mjs > tests/unit/crypto/baileys_crypto_vectors.json
// Random parts (IVs, the encryptedStream media key) change on every run; the tests read them from
// the file, so any regenerated file must pass as it is.
import { createHash } from 'crypto'
import { readFileSync } from 'fs'
import { dirname, join } from 'path'
import { fileURLToPath } from 'url'
import { deflateSync } from 'zlib'
const NM = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'interop', 'node_modules')
const U = await import(NM + '/baileys/lib/Utils/index.js')
const { proto } = await import(NM + '/baileys/WAProto/index.js')
const bridge = await import(NM + '/whatsapp-rust-bridge/dist/index.js')
const hex = b => Buffer.from(b).toString('hex')
const sha = s => createHash('sha256').update(s).digest()
const out = {}

// A. app-state key expansion
const keyData = Buffer.from([...Array(32).keys()])
const ek = bridge.expandAppStateKeys(keyData)
out.appstate_keys = { key_data: hex(keyData), index: hex(ek.indexKey), value_encryption: hex(ek.valueEncryptionKey),
  value_mac: hex(ek.valueMacKey), snapshot_mac: hex(ek.snapshotMacKey), patch_mac: hex(ek.patchMacKey) }

// B. LTHash
const lt = U.LT_HASH_ANTI_TAMPERING
const m1 = sha('mac-one'), m2 = sha('mac-two'), m3 = sha('mac-three')
const h1 = Buffer.from(lt.subtractThenAdd(Buffer.alloc(128), [], [m1, m2]))
const h2 = Buffer.from(lt.subtractThenAdd(h1, [m1], [m3]))
out.lthash = { macs: [hex(m1), hex(m2), hex(m3)], add_1_2_from_zero: hex(h1), then_sub_1_add_3: hex(h2) }

// C. encodeSyncdPatch chain
const keyIdB64 = Buffer.from('wamd-key-0001').toString('base64')
const getKey = async id => (id === keyIdB64 ? { keyData } : null)
let state = U.newLTHashState()
const patches = []
const creates = [
  { type: 'regular_high', index: ['mute', '15551234567@s.whatsapp.net'], syncAction: { timestamp: 1700000000000, muteAction: { muted: true, muteEndTimestamp: -1 } }, apiVersion: 2, operation: proto.SyncdMutation.SyncdOperation.SET },
  { type: 'regular_high', index: ['star', '15551234567@s.whatsapp.net', '3EB0AAAAAAAAAAAAAAAAAA', '1', '0'], syncAction: { timestamp: 1700000001000, starAction: { starred: true } }, apiVersion: 2, operation: proto.SyncdMutation.SyncdOperation.SET },
  { type: 'regular_high', index: ['mute', '15551234567@s.whatsapp.net'], syncAction: { timestamp: 1700000002000, muteAction: { muted: false } }, apiVersion: 2, operation: proto.SyncdMutation.SyncdOperation.SET },
  { type: 'regular_high', index: ['star', '15551234567@s.whatsapp.net', '3EB0AAAAAAAAAAAAAAAAAA', '1', '0'], syncAction: { timestamp: 1700000003000, starAction: { starred: false } }, apiVersion: 2, operation: proto.SyncdMutation.SyncdOperation.REMOVE },
]
for (const c of creates) {
  const r = await U.encodeSyncdPatch(c, keyIdB64, state, getKey)
  state = r.state
  patches.push({ patch: hex(proto.SyncdPatch.encode(r.patch).finish()), version: state.version, hash: hex(state.hash),
    index_value_macs: Object.fromEntries(Object.entries(state.indexValueMap).map(([k, v]) => [Buffer.from(k, 'base64').toString('hex'), hex(v.valueMac)])) })
}
out.appstate_patches = { collection: 'regular_high', key_id: hex(Buffer.from(keyIdB64, 'base64')), key_data: hex(keyData), patches }

// D. media
const mediaKey = sha('wamd media key')
out.media_keys = {}
for (const t of ['image', 'video', 'audio', 'document', 'sticker', 'ptt', 'gif', 'md-msg-hist', 'md-app-state', 'thumbnail-link', 'thumbnail-image', 'ppic', 'payment-bg-image']) {
  const k = await U.getMediaKeys(mediaKey, t)
  out.media_keys[t] = { info: U.hkdfInfoKey(t), iv: hex(k.iv), cipher_key: hex(k.cipherKey), mac_key: hex(k.macKey) }
}
out.media_key = hex(mediaKey)
const plain = Buffer.alloc(1000).map((_, i) => (i * 7 + 3) & 0xff)
const enc = await U.encryptedStream(plain, 'document', {})
const body = readFileSync(enc.encFilePath)
out.media_encrypted = { type: 'document', plaintext: hex(plain), media_key: hex(enc.mediaKey), body: hex(body), mac: hex(enc.mac),
  file_sha256: hex(enc.fileSha256), file_enc_sha256: hex(enc.fileEncSha256), file_length: enc.fileLength }

// E. media retry
const node = U.encryptMediaRetryRequest({ id: '3EB0C0FFEE00112233' }, mediaKey, '15551234567@s.whatsapp.net')
const encNode = node.content.find(n => n.tag === 'encrypt')
const encP = encNode.content.find(n => n.tag === 'enc_p').content, encIv = encNode.content.find(n => n.tag === 'enc_iv').content
const notif = proto.MediaRetryNotification.encode({ stanzaId: '3EB0C0FFEE00112233', directPath: '/v/t62.7118-24/abc.enc?ccb=11-4', result: 1 }).finish()
const retryKey = Buffer.from(bridge.hkdf ? bridge.hkdf(mediaKey, 32, { info: 'WhatsApp Media Retry Notification' }) : U.hkdf(mediaKey, 32, { info: 'WhatsApp Media Retry Notification' }))
const niv = Buffer.alloc(12, 9)
const nct = U.aesEncryptGCM(notif, retryKey, niv, Buffer.from('3EB0C0FFEE00112233'))
const back = U.decryptMediaRetryData({ ciphertext: nct, iv: niv }, mediaKey, '3EB0C0FFEE00112233')
out.media_retry = { media_key: hex(mediaKey), message_id: '3EB0C0FFEE00112233', receipt_ciphertext: hex(encP), receipt_iv: hex(encIv),
  notification_ciphertext: hex(nct), notification_iv: hex(niv), notification_direct_path: back.directPath, notification_result: back.result }

// F. history blob
const hs = proto.HistorySync.encode({
  syncType: proto.HistorySync.HistorySyncType.RECENT, chunkOrder: 2, progress: 40,
  conversations: [{ id: '15550001111@s.whatsapp.net', unreadCount: 1, name: 'Alice', messages: [
    { msgOrderId: 2, message: { key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id: 'MSG-NEW' }, messageTimestamp: 1700000100, status: 4, message: { conversation: 'newer' } } },
    { msgOrderId: 1, message: { key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: true, id: 'MSG-OLD' }, messageTimestamp: 1700000000, status: 3, message: { conversation: 'older' } } },
  ] }, { id: '120363000000000000@g.us', messages: [
    { message: { key: { remoteJid: '120363000000000000@g.us', fromMe: false, id: 'GRP-1', participant: '15550002222@s.whatsapp.net' }, messageTimestamp: 1700000050, pushName: 'Bob', message: { conversation: 'hi group' } } } ] }],
  pushnames: [{ id: '15550002222@s.whatsapp.net', pushname: 'Bob' }],
}).finish()
const processed = U.processHistoryMessage(proto.HistorySync.decode(hs))
out.baileys_version = JSON.parse(readFileSync(NM + '/baileys/package.json')).version
out.history = { blob: hex(deflateSync(hs)), baileys_messages_in_order: processed.messages.map(m => m.key.id),
  baileys_chat_last_message: processed.chats.map(c => c.messages?.[0]?.message?.key?.id ?? null) }
console.log(JSON.stringify(out, null, 1))
