// A worker's request handler: the module's default export answers each request, and what it
// returns (a string, a Buffer, or a list of them, one frame each) is the reply.
//
//   node dist/main.js --role worker --service upper --handler examples/handlers/upper.mjs
//   node dist/main.js --role client --call upper hello          # prints HELLO
//
// `npm start` prints both commands with the mesh's endpoints.
export default (request) => request.text().toUpperCase();
