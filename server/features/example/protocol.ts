import { z } from 'zod';
import { defineProtocol } from '../../socket';

/** Forge's example, typed: ping/pong, chat in a channel, join another room. */
export const example = defineProtocol({
  client: {
    ping: z.object({}),
    chat: z.object({ text: z.string().trim().min(1).max(2000) }),
    'join-room': z.object({ room: z.string().regex(/^[\w-]{1,64}$/, 'room: 1-64 letters, digits, _ or -') }),
  },
  server: {
    pong: z.object({ timestamp: z.number() }),
    chat: z.object({ user: z.string(), text: z.string(), time: z.number() }),
  },
  replies: {
    ping: z.object({ timestamp: z.number() }),
    'join-room': z.object({ room: z.string(), created: z.boolean() }),
  },
});
export type ExampleProtocol = typeof example;
