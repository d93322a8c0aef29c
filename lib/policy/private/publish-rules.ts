/** GANTRY-IAM-014: a publish role may push images to ECR repositories and do nothing else. */
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { attachedPolicies, parseJson, roleDocuments, roleKind, statements } from './iam-documents';
import { render } from './terraform-json';

/** What pushing (and signing, which reads and writes manifests) needs, on the repositories. */
export const ECR_PUSH_ACTIONS: readonly string[] = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:CompleteLayerUpload',
  'ecr:DescribeImages',
  'ecr:GetDownloadUrlForLayer',
  'ecr:InitiateLayerUpload',
  'ecr:PutImage',
  'ecr:UploadLayerPart',
];
/** Has no resource type: `"*"` is the only form AWS accepts. */
export const ECR_LOGIN_ACTION = 'ecr:GetAuthorizationToken';
const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository\/[a-z0-9._/-]+$/;

export const PUBLISH_RULES: readonly PolicyRule[] = [
  defineRule({
    id: 'GANTRY-IAM-014',
    title: 'Publish roles push images to named ECR repositories and nothing else',
    publicChecks: [],
    evaluate(view, report) {
      const expected = `Allow ${ECR_LOGIN_ACTION} on "*" and ${ECR_PUSH_ACTIONS.join(', ')} on named ECR repository ARNs only; no managed policy`;
      const publishing = view
        .resources('aws_iam_role')
        .filter((r) => roleKind(r) === 'publish' || roleKind(r) === 'publish-branch');
      for (const role of publishing) {
        const name = render(role.body.name);
        for (const doc of roleDocuments(view, role)) {
          for (const s of statements(parseJson(doc.value))) {
            if (s.effect !== 'Allow') continue;
            const actions = s.notActions ? ['NotAction'] : s.actions;
            const login = actions.length === 1 && actions[0] === ECR_LOGIN_ACTION;
            const pushOnly = actions.every((a) => ECR_PUSH_ACTIONS.includes(a));
            const resourcesOk = login
              ? s.resources.length === 1 && s.resources[0] === '*'
              : !s.notResources && s.resources.length > 0 && s.resources.every((r) => REPOSITORY_ARN.test(r));
            if (!(login || pushOnly) || !resourcesOk) {
              report(
                doc.entry.address,
                `publish role ${name}: ${doc.attribute} statement ${s.index} allows ${render(actions)} on ${render(s.notResources ? ['NotResource'] : s.resources)}`,
                expected,
              );
            }
          }
        }
        for (const { address, policyArn } of attachedPolicies(view, role)) {
          report(address, `publish role ${name} carries managed policy ${render(policyArn)}`, expected);
        }
      }
    },
  }),
];
