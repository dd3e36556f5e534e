// The OAuth consent popup's landing page: the API's callback redirects here with ?status=&id=&message=;
// it tells the portal that opened it (same origin only) and closes.
const query = new URLSearchParams(location.search);
const outcome = {
  source: "cyclewright-oauth",
  status: query.get("status") === "success" ? "success" : "error",
  id: query.get("id"),
  message: query.get("message"),
};
if (window.opener) {
  (window.opener as Window).postMessage(outcome, location.origin);
  window.close();
} else {
  const text = document.getElementById("message");
  if (text) text.textContent = outcome.status === "success" ? "Signed in. You can close this window." : `Signing in failed: ${outcome.message ?? ""}`;
}
