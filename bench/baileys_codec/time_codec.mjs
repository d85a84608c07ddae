// Times Baileys' WABinary encoder and decoder on the corpora bench/codec.py writes.
// Usage: node time_codec.mjs CORPUS.json  -> prints one JSON object on stdout.
// Corpus format: {"<corpus name>": [node, ...]}, node = {tag, attrs, content?} where content is a
// string, a list of nodes or {"hex": "..."}.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as constants from 'baileys/lib/WABinary/constants.js'
import { decodeDecompressedBinaryNode, encodeBinaryNode } from 'baileys/lib/WABinary/index.js'

const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS || '1.0')
const REPEATS = Number(process.env.BENCH_REPEATS || '3')

const toBinaryNode = (obj) => {
	let content = obj.content
	if (Array.isArray(content)) {
		content = content.map(toBinaryNode)
	} else if (content && typeof content === 'object') {
		content = Buffer.from(content.hex, 'hex')
	}
	return { tag: obj.tag, attrs: obj.attrs || {}, content }
}

// Best rate over REPEATS runs, each running whole passes over the corpus for MIN_SECONDS.
const rate = (nodes, work) => {
	let best = 0
	for (let r = 0; r < REPEATS; r++) {
		let passes = 0
		const start = process.hrtime.bigint()
		let elapsed = 0
		do {
			for (const node of nodes) work(node)
			passes++
			elapsed = Number(process.hrtime.bigint() - start) / 1e9
		} while (elapsed < MIN_SECONDS)
		best = Math.max(best, passes / elapsed)
	}
	return best
}

const corpora = JSON.parse(readFileSync(process.argv[2], 'utf-8'))
const results = {}
for (const [name, objs] of Object.entries(corpora)) {
	const nodes = objs.map(toBinaryNode)
	const frames = nodes.map((n) => encodeBinaryNode(n))
	const bytes = frames.reduce((sum, f) => sum + f.length, 0)
	const digest = createHash('sha256')
	for (const f of frames) digest.update(f)
	// decodeBinaryNode is async only because of optional inflation; time the synchronous core on
	// the frame after its (uncompressed) flag byte, as the async wrapper does.
	const bodies = frames.map((f) => f.subarray(1))
	const encodePasses = rate(nodes, (n) => encodeBinaryNode(n))
	const decodePasses = rate(bodies, (b) => decodeDecompressedBinaryNode(b, constants))
	results[name] = {
		nodes: nodes.length,
		bytes,
		sha256: digest.digest('hex'),
		encode_nodes_per_s: encodePasses * nodes.length,
		encode_mb_per_s: (encodePasses * bytes) / 1e6,
		decode_nodes_per_s: decodePasses * nodes.length,
		decode_mb_per_s: (decodePasses * bytes) / 1e6
	}
}
console.log(JSON.stringify({ node: process.version, results }))
