// The custom domain rules live in tenancy, where the console's domain form checks them too.
export { checkCustomDomain, checkCustomDomains } from '../tenancy/custom-domain';
