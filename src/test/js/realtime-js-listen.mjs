// Joins one channel with the real @supabase/realtime-js client and prints what it receives, one JSON line each:
//   node --experimental-websocket src/test/js/realtime-js-listen.mjs <websocket-url> <apikey> <vsn> <channel> <count>
// Prints {"status":"SUBSCRIBED"} once joined, then {"event","payload"} per broadcast; exits 0 after <count>
// broadcasts, 1 on a channel error or after 30 s.
import { RealtimeClient } from '@supabase/realtime-js';

const [url, apikey, vsn, channelName, count] = process.argv.slice(2);
if (!url || !apikey || !vsn || !channelName || !count) {
  process.stderr.write('usage: realtime-js-listen.mjs <websocket-url> <apikey> <vsn> <channel> <count>\n');
  process.exit(2);
}
const print = line => process.stdout.write(JSON.stringify(line) + '\n');
setTimeout(() => { process.stderr.write('timed out\n'); process.exit(1); }, 30_000).unref();

// realtime-js appends /websocket itself, so it is given the endpoint without it.
const client = new RealtimeClient(url.replace(/\/websocket$/, ''), { params: { apikey }, vsn });
let received = 0;
client.channel(channelName)
  .on('broadcast', { event: '*' }, message => {
    print({ event: message.event, payload: message.payload });
    if (++received === Number(count)) {
      client.disconnect();
      process.exit(0);
    }
  })
  .subscribe((status, error) => {
    if (status === 'SUBSCRIBED') print({ status });
    else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
      process.stderr.write(`channel ${status}: ${error?.message ?? ''}\n`);
      process.exit(1);
    }
  });
