{{- define "cyclewright.name" -}}{{ .Release.Name }}-cyclewright{{- end -}}

{{- define "cyclewright.labels" -}}
app.kubernetes.io/name: cyclewright
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cyclewright.selector" -}}
app.kubernetes.io/name: cyclewright
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cyclewright.secretName" -}}
{{ .Values.existingSecret | default (printf "%s-secrets" (include "cyclewright.name" .)) }}
{{- end -}}

{{- /* The settings exist before the setup Job runs (a pre-install hook), so they are hooks too. */ -}}
{{- define "cyclewright.settingsHook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}

{{- define "cyclewright.tlsMount" -}}/etc/cyclewright/temporal-tls{{- end -}}

{{- /* One container of the image: the settings from the ConfigMap and the Secret, the Temporal TLS files. */ -}}
{{- define "cyclewright.container" -}}
- name: {{ .component }}
  image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: {{- toYaml .command | nindent 4 }}
  envFrom:
    - configMapRef:
        name: {{ include "cyclewright.name" .root }}
    - secretRef:
        name: {{ include "cyclewright.secretName" .root }}
  {{- with .env }}
  env: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .ports }}
  ports: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .resources }}
  resources: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .root.Values.temporal.tls.existingSecret }}
  volumeMounts:
    - name: temporal-tls
      mountPath: {{ include "cyclewright.tlsMount" .root }}
      readOnly: true
  {{- end }}
{{- end -}}

{{- define "cyclewright.volumes" -}}
{{- with .Values.temporal.tls.existingSecret -}}
volumes:
  - name: temporal-tls
    secret:
      secretName: {{ . }}
{{- end -}}
{{- end -}}

{{- /* Restart the pods when the settings change (the ConfigMap and Secret are replaced in place). */ -}}
{{- define "cyclewright.checksums" -}}
checksum/settings: {{ include (print .Template.BasePath "/settings.yaml") . | sha256sum }}
{{- end -}}
