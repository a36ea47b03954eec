// Answers every request with who served it, so tests can see instance indexes.
const http = require("node:http");

const port = Number(process.env.PORT || 8080);
const index = process.env.CF_INSTANCE_INDEX || "0";
const app = JSON.parse(process.env.VCAP_APPLICATION || "{}");

http
  .createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ message: "hello from node-hello", index, pid: process.pid, app: app.application_name || null, path: req.url }) + "\n");
  })
  .listen(port, () => console.log(`node-hello instance ${index} listening on ${port}`));
