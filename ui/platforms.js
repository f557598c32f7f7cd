// Where a folder can go, as the picker shows it: one line on what each is good for, and how to
// connect an account (the page where the token is made, and exactly what to tick).

/**
 * `choice` is what the picker offers; `platform` is the engine's id it deploys to; `account`
 * says what connecting takes: 'token', 'aws' or 'none'. `accountPlatform` is where the
 * account is filed (both Cloudflare products share one).
 */
export const CHOICES = [
  {
    choice: 'local',
    platform: 'local',
    name: 'This computer',
    blurb: 'A private preview only you can open. No account; nothing leaves this computer.',
    account: 'none',
  },
  {
    choice: 'netlify-drop',
    platform: 'netlify',
    name: 'Netlify, no account',
    blurb: 'A public link in seconds without signing up. Temporary until you claim it.',
    account: 'none',
    onlyWithoutAccount: 'netlify',
  },
  {
    choice: 'cloudflare-pages',
    platform: 'cloudflare-pages',
    name: 'Cloudflare Pages',
    blurb: 'Fast all over the world, with a generous free plan.',
    account: 'token',
    accountPlatform: 'cloudflare-pages',
  },
  {
    choice: 'cloudflare-workers',
    platform: 'cloudflare-workers',
    name: 'Cloudflare Workers',
    blurb: 'Your files on Workers, for a site that may grow into an app.',
    account: 'token',
    accountPlatform: 'cloudflare-pages',
  },
  {
    choice: 'netlify',
    platform: 'netlify',
    name: 'Netlify',
    blurb: 'A friendly dashboard, forms and redirects; free to start.',
    account: 'token',
    accountPlatform: 'netlify',
  },
  {
    choice: 'vercel',
    platform: 'vercel',
    name: 'Vercel',
    blurb: 'Made for front-end projects, with a preview link for every deploy.',
    account: 'token',
    accountPlatform: 'vercel',
  },
  {
    choice: 'amplify',
    platform: 'amplify',
    name: 'AWS Amplify',
    blurb: 'For teams already on AWS. Connects with an access key.',
    account: 'aws',
    accountPlatform: 'amplify',
  },
];

/** How to connect each account platform: the page, the steps, the optional extra field. */
export const CONNECT = {
  'cloudflare-pages': {
    name: 'Cloudflare',
    url: 'https://dash.cloudflare.com/profile/api-tokens',
    linkText: 'Open Cloudflare’s API tokens page',
    steps: [
      'Press “Create Token”, then “Create Custom Token”.',
      'Add the permissions Account → Cloudflare Pages → Edit and Account → Workers Scripts → Edit.',
      'Under Account Resources choose your account, then create the token and copy it.',
    ],
    tokenLabel: 'Cloudflare API token',
    ref: { label: 'Account ID', hint: 'Only needed when the token reaches several accounts.' },
  },
  netlify: {
    name: 'Netlify',
    url: 'https://app.netlify.com/user/applications#personal-access-tokens',
    linkText: 'Open Netlify’s access tokens page',
    steps: [
      'Under “Personal access tokens” press “New access token”.',
      'Give it a name you will recognise (for example “Sitedrop”) and choose when it expires.',
      'Generate the token and copy it.',
    ],
    tokenLabel: 'Netlify personal access token',
  },
  vercel: {
    name: 'Vercel',
    url: 'https://vercel.com/account/tokens',
    linkText: 'Open Vercel’s tokens page',
    steps: [
      'Press “Create Token” and give it a name (for example “Sitedrop”).',
      'For Scope choose your own account, or the team that should own the sites.',
      'Choose an expiration, create the token and copy it.',
    ],
    tokenLabel: 'Vercel token',
    ref: { label: 'Team ID', hint: 'Only to publish into a team: its ID starts with team_.' },
  },
  amplify: {
    name: 'AWS',
    url: 'https://console.aws.amazon.com/iam/home#/users',
    linkText: 'Open the AWS IAM users page',
    steps: [
      'Create a user (for example “sitedrop”) and attach the policy AdministratorAccess-Amplify.',
      'Open the user, then Security credentials → Create access key → “Application running outside AWS”.',
      'Copy the access key ID and the secret access key, and pick the region of your Amplify apps.',
    ],
  },
};

/** AWS regions where Amplify Hosting runs. */
export const AMPLIFY_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'eu-south-1',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1',
  'ap-southeast-2', 'me-south-1',
];

/** The name people know a platform id by. */
export function platformName(platform) {
  if (platform === 'cloudflare-pages') return 'Cloudflare Pages';
  const found = CHOICES.find((c) => c.choice === platform);
  return found ? found.name : platform;
}

/** The picker entry for a choice id. */
export function choiceById(choice) {
  return CHOICES.find((c) => c.choice === choice) || null;
}

/** The choices on offer given the connected accounts (no "no account" Netlify when one is). */
export function availableChoices(accounts) {
  return CHOICES.filter((c) => !c.onlyWithoutAccount || !accounts.some((a) => a.platform === c.onlyWithoutAccount));
}

/** The connected account a choice deploys with (the most recently used comes first). */
export function accountFor(choice, accounts) {
  if (!choice || choice.account === 'none') return null;
  return accounts.find((a) => a.platform === choice.accountPlatform) || null;
}

/** The choice a remembered site was deployed with. */
export function choiceForSite(site) {
  return choiceById(site.platform);
}
