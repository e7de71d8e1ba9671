// The URL rule of the notification center: only http(s) URLs and same-origin paths.
import assert from "node:assert/strict";
import test from "node:test";

import { isSameOrigin, safeUrl } from "../../../src/tocsin/web/static/js/ui/safety.js";

const PAGE = "https://app.example.com/inbox?tab=1";

test("absolute http and https URLs are kept (normalised)", () => {
  assert.equal(safeUrl("https://example.org/a?b=1#c", PAGE), "https://example.org/a?b=1#c");
  assert.equal(safeUrl("http://example.org", PAGE), "http://example.org/");
  assert.equal(safeUrl("HTTPS://Example.org/X", PAGE), "https://example.org/X");
});

test("same-origin paths resolve against the page", () => {
  assert.equal(safeUrl("/posts/1#c2", PAGE), "https://app.example.com/posts/1#c2");
  assert.equal(safeUrl("/", PAGE), "https://app.example.com/");
  assert.equal(safeUrl("/a/../b", PAGE), "https://app.example.com/b");
});

test("script and data schemes are refused, however they are spelled", () => {
  for (const url of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\u0000javascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ｊａｖａｓｃｒｉｐｔ:alert(1)",
    "file:///etc/passwd",
    "blob:https://app.example.com/1",
  ]) {
    assert.equal(safeUrl(url, PAGE), null, url);
  }
});

test("protocol-relative, backslash and relative paths are refused", () => {
  for (const url of ["//evil.example/x", "/\\evil.example", "\\\\evil.example", "posts/1", "./x", "?q", "#frag", "", " /x"]) {
    assert.equal(safeUrl(url, PAGE), null, JSON.stringify(url));
  }
});

test("URLs with credentials or control characters are refused", () => {
  assert.equal(safeUrl("https://bank.example@evil.example/", PAGE), null);
  assert.equal(safeUrl("https://example.org/\u0007", PAGE), null);
  assert.equal(safeUrl("/x\r\nSet-Cookie: a", PAGE), null);
});

test("non-strings and oversized values are refused", () => {
  for (const value of [null, undefined, 42, {}, ["https://a.example"], "https://a.example/" + "x".repeat(5000)]) {
    assert.equal(safeUrl(value, PAGE), null);
  }
});

test("paths are refused without a page to resolve them against", () => {
  assert.equal(safeUrl("/posts/1", undefined), null);
  assert.equal(safeUrl("https://example.org/", undefined), "https://example.org/");
});

test("isSameOrigin compares origins", () => {
  assert.equal(isSameOrigin("https://app.example.com/x", PAGE), true);
  assert.equal(isSameOrigin("https://app.example.com:444/x", PAGE), false);
  assert.equal(isSameOrigin("http://app.example.com/x", PAGE), false);
  assert.equal(isSameOrigin("not a url", PAGE), false);
});
