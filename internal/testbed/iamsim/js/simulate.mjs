// The test bed's IAM judge: reads one simulation a line on stdin, answers
// one decision a line on stdout, in Strict mode, with iam-simulate (a
// maintained evaluator of AWS's policy language and AWS's Service
// Authorization Reference data). The Go side (iamsim.go) writes the
// requests and reads the answers; nothing here decides anything itself.
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const named = (s) => {
  const sid = s.statement?.sid?.() ?? s.statement?.Sid
  return sid ? `${s.policyId}/${sid}` : `${s.policyId}#${(s.statement?.index?.() ?? 0) + 1}`
}

async function judge(req) {
  const simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.account },
      contextVariables: req.context ?? {},
    },
    identityPolicies: req.identity ?? [],
    permissionBoundaryPolicies: req.boundary?.length ? req.boundary : undefined,
    resourcePolicy: req.resourcePolicy ?? undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
  const r = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (r.resultType === 'error') {
    return { result: 'Error', error: JSON.stringify(r.errors) }
  }
  const a = r.result?.analysis ?? {}
  const blockedBy = []
  if (a.identityAnalysis && a.identityAnalysis.result !== 'Allowed') blockedBy.push('identity')
  if (a.permissionBoundaryAnalysis && !['Allowed', 'NotApplicable'].includes(a.permissionBoundaryAnalysis.result)) blockedBy.push('pb')
  if (a.resourceAnalysis?.result === 'ExplicitlyDenied') blockedBy.push('resource')
  return {
    result: r.overallResult,
    blockedBy,
    identity: a.identityAnalysis?.result ?? '',
    boundary: a.permissionBoundaryAnalysis?.result ?? '',
    resource: a.resourceAnalysis?.result ?? '',
    allow: (a.identityAnalysis?.allowStatements ?? []).map(named),
    deny: [...(a.identityAnalysis?.denyStatements ?? []), ...(a.permissionBoundaryAnalysis?.denyStatements ?? []), ...(a.resourceAnalysis?.denyStatements ?? [])].map(named),
    ignored: r.result?.ignoredContextKeys ?? [],
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let id = null
  let answer
  try {
    const req = JSON.parse(line)
    id = req.id
    answer = await judge(req)
  } catch (e) {
    answer = { result: 'Error', error: String(e?.stack ?? e) }
  }
  process.stdout.write(JSON.stringify({ id, ...answer }) + '\n')
}
