/** Who is on the other end. Comes from the server (auth, route), never from client frames. */
export interface Profile {
  id: string;
  name: string;
}
