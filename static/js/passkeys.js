// Passkeys (WebAuthn) for the second-factor pages. No inline script (the Content Security
// Policy allows our own files only): a form carries data-passkey="register" or
// "authenticate" with the URLs of its two server steps; the server makes the options (with a
// fresh challenge) and checks the browser's answer.
(() => {
  "use strict";

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };

  const toBase64url = (buffer) => {
    let text = "";
    new Uint8Array(buffer).forEach((b) => {
      text += String.fromCharCode(b);
    });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  // The server's JSON options (base64url strings) as the browser's API wants them (buffers).
  const creationOptions = (json) => ({
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  });

  const requestOptions = (json) => ({
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  });

  // The browser's answer as JSON for py_webauthn (toJSON where the browser has it).
  const credentialJSON = (credential) => {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports =
        typeof response.getTransports === "function" ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      json.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : undefined;
    }
    return json;
  };

  const post = async (url, csrfToken, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (!response.ok) {
      throw new Error(data.detail || response.statusText);
    }
    return data;
  };

  const start = async (form, status) => {
    const kind = form.dataset.passkey;
    const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const button = form.querySelector("button[type=submit]");
    const nameField = form.querySelector("[name=name]");
    button.disabled = true;
    status.textContent = form.dataset.waitingText || "…";
    try {
      const options = await post(form.dataset.optionsUrl, csrfToken);
      const credential =
        kind === "register"
          ? await navigator.credentials.create({ publicKey: creationOptions(options) })
          : await navigator.credentials.get({ publicKey: requestOptions(options) });
      const result = await post(form.dataset.verifyUrl, csrfToken, {
        credential: credentialJSON(credential),
        name: nameField ? nameField.value : "",
        next: form.dataset.next || "",
      });
      status.textContent = "";
      window.location.assign(result.redirect || "/");
    } catch (error) {
      // NotAllowedError: the person cancelled, or the time ran out.
      status.textContent = error && error.message ? error.message : String(error);
      status.classList.add("error");
      button.disabled = false;
    }
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-passkey]").forEach((form) => {
      const status = form.parentElement.querySelector("[data-passkey-status]");
      if (!window.PublicKeyCredential || !navigator.credentials) {
        status.textContent = form.dataset.unsupportedText || "Passkeys are not available in this browser.";
        form.querySelector("button[type=submit]").disabled = true;
        return;
      }
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        start(form, status);
      });
    });
  });
})();
