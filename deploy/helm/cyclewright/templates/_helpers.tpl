{{- define "cyclewright.name" -}}{{ .Release.Name }}-cyclewright{{- end -}}

{{- define "cyclewright.labels" -}}
app.kubernetes.io/name: cyclewright
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cyclewright.pod" -}}
containers:
  - name: {{ .component }}
    image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
    imagePullPolicy: {{ .root.Values.image.pullPolicy }}
    {{- with .command }}
    command: {{ toJson . }}
    {{- end }}
    env:
      {{- range $name, $value := .root.Values.env }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
    envFrom:
      - secretRef:
          name: {{ .root.Values.existingSecret }}
{{- end -}}
