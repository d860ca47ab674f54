// Runs s3rver as its own process (the parent starts it with --openssl-legacy-provider, which
// s3rver's list continuation tokens need) and reports the bound port on stdout as one JSON line.
// argv[2]: JSON {dir, port, bucket}. Exits when told (SIGTERM) or when the parent goes away.
import S3rver from 's3rver';

const { dir, port, bucket } = JSON.parse(process.argv[2] ?? '{}');
const server = new S3rver({
  address: '127.0.0.1',
  port,
  directory: dir,
  silent: true,
  configureBuckets: [{ name: bucket }],
});

const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);

function shutdown() {
  // Dropping open keep-alive sockets makes the outage immediate, as a real server going away.
  server.httpServer.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The parent holds our stdin open; its end means the test process died without cleaning up.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
