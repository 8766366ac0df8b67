// Renders a service's OpenAPI document with Redoc, after merging in the calls a portal
// gateway makes (examples.json): request and response examples and a curl sample on each
// of those operations, and their list in the introduction.
(function () {
  'use strict';

  var root = document.getElementById('redoc');
  if (!root) return;
  var settings = root.dataset;

  function getJson(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('GET ' + url + ': ' + r.status);
      return r.json();
    });
  }

  function shellQuote(text) {
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function fillPath(path, params) {
    return path.replace(/\{([^}]+)\}/g, function (whole, name) {
      return params && params[name] !== undefined ? encodeURIComponent(params[name]) : whole;
    });
  }

  function curl(call, prefix) {
    var lines = ['curl -X ' + call.method.toUpperCase() + ' "$GATEWAY' + prefix + fillPath(call.path, call.params) + '"'];
    if (call.auth) lines.push('-H "Authorization: Bearer $TOKEN"');
    if (call.idempotent) lines.push('-H "Idempotency-Key: $(uuidgen)"');
    if (call.request !== undefined) {
      lines.push("-H 'Content-Type: application/json'");
      lines.push('-d ' + shellQuote(JSON.stringify(call.request)));
    }
    return lines.join(' \\\n  ');
  }

  function jsonContent(holder) {
    return holder && holder.content && holder.content['application/json'];
  }

  function anchor(call) {
    return '`' + call.method.toUpperCase() + ' ' + call.path + '`';
  }

  // exported for the page only: merges the examples into the document in place
  function withExamples(spec, examples, prefix) {
    var calls = (examples && examples.calls) || [];
    spec.servers = [{ url: prefix, description: 'this gateway' }];
    var intro = examples && examples.intro ? examples.intro + '\n\n' : '';
    var list = calls.map(function (call) { return '1. ' + anchor(call) + ': ' + call.summary; }).join('\n');
    if (intro || list) {
      spec.info.description = (spec.info.description || '') +
        '\n\n## Calls a portal gateway makes\n\n' + intro + list +
        '\n\nEvery error answers JSON `{"code", "message", "field"}` with a 4xx status; branch on `code`.';
    }
    calls.forEach(function (call) {
      var operation = spec.paths[call.path] && spec.paths[call.path][call.method];
      if (!operation) { console.warn('no operation for', call.method, call.path); return; }
      var example = { summary: call.summary };
      var request = jsonContent(operation.requestBody);
      if (request && call.request !== undefined) {
        delete request.example;
        request.examples = { gateway: Object.assign({ value: call.request }, example) };
      }
      var response = jsonContent(operation.responses && operation.responses[call.status]);
      if (response && call.response !== undefined) {
        delete response.example;
        response.examples = { gateway: Object.assign({ value: call.response }, example) };
      }
      if (call.auth && spec.components && spec.components.securitySchemes && spec.components.securitySchemes.bearer) {
        operation.security = [{ bearer: [] }];
      }
      operation['x-codeSamples'] = [{ lang: 'Shell', label: 'curl', source: curl(call, prefix) }];
    });
    return spec;
  }

  window.accrApiDocs = { withExamples: withExamples, curl: curl };

  Promise.all([getJson(settings.specUrl), getJson(settings.examplesUrl)]).then(function (loaded) {
    var spec = withExamples(loaded[0], loaded[1], settings.gatewayPrefix);
    root.textContent = '';
    window.Redoc.init(spec, {
      nonce: settings.nonce,
      expandResponses: '200,201,202',
      jsonSampleExpandLevel: 3,
      hideHostname: true,
      sortPropsAlphabetically: false,
      theme: { colors: { primary: { main: '#12355b' } } },
    }, root);
  }).catch(function (error) {
    root.textContent = '';
    var p = document.createElement('p');
    p.className = 'docs-error';
    p.textContent = 'The API document could not be loaded: ' + error.message;
    root.appendChild(p);
  });
})();
