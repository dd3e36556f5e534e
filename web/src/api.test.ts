import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "./api";

afterEach(() => vi.unstubAllGlobals());

describe("Api", () => {
  it("sends the session's bearer token and JSON", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ Id: "c1" }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    await new Api("tok").activate("c/1", { RunOnce: true });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/v1.0/cycles/c%2F1/activate");
    expect(init.method).toBe("PUT");
    expect(init.body).toBe('{"RunOnce":true}');
    expect(init.headers).toMatchObject({ Authorization: "Bearer tok", "Content-Type": "application/json" });
  });

  it("turns an error answer into an ApiError with its errors by path", async () => {
    const answer = { Message: "The credentials do not work; nothing was saved.",
      Errors: [{ Path: "$.AuthValue", Message: "bad credentials" }, { Path: "$.Properties[0].Value", Message: "not a url" }] };
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify(answer), { status: 422 }));
    const error = await new Api("tok").saveConnector(null, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const failed = error as ApiError;
    expect([failed.status, failed.message]).toEqual([422, answer.Message]);
    expect(failed.at("$.AuthValue")).toEqual(["bad credentials"]);
    expect(failed.at("$.Properties")).toEqual(["not a url"]);
    expect(failed.at("$.Auth")).toEqual([]);
  });

  it("tells the portal when the session's token is no longer accepted", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ Message: "expired", Errors: [] }), { status: 401 }));
    const expired = vi.fn();
    await expect(new Api("tok", expired).cycles()).rejects.toBeInstanceOf(ApiError);
    expect(expired).toHaveBeenCalledOnce();
  });
});
