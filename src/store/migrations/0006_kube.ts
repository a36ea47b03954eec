/** Tables of the kube part (filled in by that part's issue). */
export default {
  version: 6,
  name: "kube",
  sql: ``,
};
