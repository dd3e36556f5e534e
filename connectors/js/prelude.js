// Loaded first into every script isolate (connectors/scripts.py).
//
// Each level's script (connector, method, step) is evaluated in a function of its own, so that
// the three can each define before_action; the event variables (method_request, …) are globals
// that every level sees and changes in turn.
//
// Host calls (http_request, cycle_storage_*) are synchronous, as script authors expect, but are
// served by Python between evaluations: the first time a call is reached the event stops, the
// host answers it, and the event is run again from its start with the answers so far replayed.

var __levels = {};
var __host = { answers: [], next: 0, pending: null };

function __host_call(name, args) {
  var i = __host.next++;
  if (i < __host.answers.length) {
    var answer = __host.answers[i];
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.value;
  }
  __host.pending = { name: name, args: args };
  throw __host; // unwinds to __run, whatever the script catches in between
}

function http_request(request) { return __host_call("http_request", [request]); }
function cycle_storage_get(key) { return __host_call("cycle_storage_get", [key]); }
function cycle_storage_set(key, value) { return __host_call("cycle_storage_set", [key, value]); }
function cycle_storage_delete(key) { return __host_call("cycle_storage_delete", [key]); }

// Latin-1 strings as base64 and back, like the browser's.
function btoa(text) { return CryptoJS.enc.Base64.stringify(CryptoJS.enc.Latin1.parse(String(text))); }
function atob(text) { return CryptoJS.enc.Base64.parse(String(text)).toString(CryptoJS.enc.Latin1); }

// hmac("SHA256", key, message[, "hex" | "base64"]): the signature of a UTF-8 message.
function hmac(algorithm, key, message, encoding) {
  var name = "Hmac" + String(algorithm).toUpperCase().replace("-", "");
  if (typeof CryptoJS[name] !== "function") throw new Error("hmac: unknown algorithm " + algorithm);
  var digest = CryptoJS[name](String(message), String(key));
  return (encoding || "hex") === "base64" ? digest.toString(CryptoJS.enc.Base64) : digest.toString();
}

function __error_text(err) {
  return err instanceof Error ? err.name + ": " + err.message : String(err);
}

// The line of the level's script where the error was thrown (its first frame in that script).
function __script_line(err, level) {
  var match = err instanceof Error && String(err.stack).match(new RegExp(level + "-script:(\\d+):"));
  return match ? Number(match[1]) : null;
}

function __run(level, event, variables, state, answers) {
  for (var i = 0; i < variables.length; i++) globalThis[variables[i]] = state[variables[i]];
  __host.answers = answers;
  __host.next = 0;
  __host.pending = null;
  var result;
  try {
    result = __levels[level][event]();
  } catch (err) {
    if (!__host.pending) return { error: __error_text(err), line: __script_line(err, level) };
  }
  if (__host.pending) return { pending: __host.pending };
  var after = {};
  for (var j = 0; j < variables.length; j++) after[variables[j]] = globalThis[variables[j]];
  return { result: result === undefined ? true : result, state: after };
}
//# sourceURL=prelude
