/** The live examples, in the order the index lists them. Base Framework serves each at /static/<name>.html. */
export interface ExampleInfo {
  name: string;
  title: string;
  /** One line for the index. */
  description: string;
}

export const examples: readonly ExampleInfo[] = [
  {
    name: 'chat',
    title: 'Chat',
    description: 'Multi-room chat with a live room list, people per room, typing indicators, private messages, nicknames and recent history for late joiners.',
  },
  {
    name: 'draw',
    title: 'Whiteboard',
    description: 'Freehand drawing in colour and size with remote cursors; the server keeps the canvas so late joiners see it.',
  },
  {
    name: 'kanban',
    title: 'Kanban board',
    description: 'Add, edit, drag and delete cards on a server-authoritative, versioned board that resolves concurrent moves the same way for everyone.',
  },
  {
    name: 'editor',
    title: 'Code editor',
    description: 'CodeMirror 6 on a Yjs CRDT document: concurrent typing converges, with remote cursors and a shared language choice.',
  },
  {
    name: 'monitor',
    title: 'System monitor',
    description: 'CPU, memory, event-loop lag, connections and message rates measured on the server, pushed every second and charted live, with alerts.',
  },
  {
    name: 'spreadsheet',
    title: 'Spreadsheet',
    description: 'A 26 × 100 grid with per-cell versions, formulas (SUM, AVG, MIN, MAX, references) recomputed along dependencies, cycle errors and live presence.',
  },
];
