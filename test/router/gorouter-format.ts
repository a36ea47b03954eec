/**
 * gorouter's access-log format (docs.cloudfoundry.org, "Cloud Foundry
 * Logging: Router logs"): host - [time] "request line" status bytes_received
 * bytes_sent "referer" "user_agent" "remote" "backend" x_forwarded_for:""
 * x_forwarded_proto:"" vcap_request_id:"" response_time:s gorouter_time:s
 * app_id:"" app_index:"" ...
 */
export const GOROUTER_LINE =
  /^(?<host>\S+) - \[(?<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000)\] "(?<method>[A-Z]+) (?<uri>\S+) (?<proto>HTTP\/1\.[01])" (?<status>\d{3}) (?<received>\d+) (?<sent>\d+) "(?<referer>(?:[^"\\]|\\.)*)" "(?<agent>(?:[^"\\]|\\.)*)" "(?<remote>[^"]+)" "(?<backend>[^"]+)" x_forwarded_for:"(?<xff>[^"]*)" x_forwarded_proto:"(?<xfp>[^"]*)" vcap_request_id:"(?<id>[^"]+)" response_time:(?<rt>\d+\.\d+) gorouter_time:(?<gt>\d+\.\d+) app_id:"(?<app>[^"]+)" app_index:"(?<index>[^"]+)" instance_id:"(?<instance>[^"]+)" x_cf_routererror:"(?<error>[^"]+)"$/;
