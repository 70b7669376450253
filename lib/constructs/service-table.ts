// One DynamoDB table exactly as shared/infra/resources.ts describes it (keys, GSIs, TTL), with the
// defaults the data deserves: on-demand, point-in-time recovery, encryption, retained on stack deletion
// (but not after a failed first create, which must be retryable), and deletion protection switched on once
// the stack's create has succeeded (TableDeletionProtection).
import { createHash } from 'node:crypto';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import type { KeyDescription, TableDescription } from '../../shared/infra/resources.ts';

export interface ServiceTableProps {
  readonly description: TableDescription;
  /** Physical table name (`<prefix>-<id>`, as the local runtime names it). */
  readonly tableName: string;
  /**
   * What happens to the table and its data when it leaves the stack. `DESTROY` also drops deletion
   * protection; use it only for throwaway stages.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
}

function attribute(key: KeyDescription): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
  };
}

export class ServiceTable extends Construct {
  public readonly table: dynamodb.Table;
  public readonly description: TableDescription;

  constructor(scope: Construct, id: string, props: ServiceTableProps) {
    super(scope, id);
    const { description } = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.description = description;
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: attribute(description.partitionKey),
      sortKey: description.sortKey ? attribute(description.sortKey) : undefined,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // AWS-managed KMS key: encryption at rest with a CloudTrail-visible key, no key policy to maintain.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: description.ttlAttribute,
      // Not in the template: a table created protected could not be deleted by the rollback of a failed
      // first create, and the retry would fail on its name. TableDeletionProtection turns it on last.
      removalPolicy,
    });
    for (const index of description.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
        projectionType:
          index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
  }

  /** ARN of one of the table's GSIs; throws for an index the description does not have. */
  indexArn(indexName: string): string {
    if (!this.description.indexes.some((i) => i.indexName === indexName))
      throw new Error(`table ${this.description.id} has no index ${indexName}`);
    return `${this.table.tableArn}/index/${indexName}`;
  }
}

export interface TableDeletionProtectionProps {
  readonly tables: readonly ServiceTable[];
  /** The provider function's log group: what happens to it, and how long it keeps logs. */
  readonly logRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Deletion protection without blocking a failed create's rollback: the tables are created unprotected, and
 * this custom resource (one SDK call per table, `UpdateTable DeletionProtectionEnabled=true`) runs after
 * every other resource of the stack (`dependOnEverythingElse`). A create that fails anywhere fails before
 * it ran, so the rollback deletes unprotected tables and a retry can create them again; a create that
 * succeeds leaves them protected. It runs again (onUpdate) whenever a table's definition changes, so an
 * update that rewrites the table cannot leave it unprotected. Nothing is undone on delete: the tables are
 * retained, protected.
 */
export class TableDeletionProtection extends Construct {
  public readonly resources: cr.AwsCustomResource[] = [];

  constructor(scope: Construct, id: string, props: TableDeletionProtectionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'ProviderLogs', {
      removalPolicy: props.logRemovalPolicy,
      retention: props.logRetention,
    });
    for (const { table, description } of props.tables) {
      // The digest changes with the table's definition, and with it the call: it runs again after that update.
      const digest = createHash('sha256').update(JSON.stringify(description)).digest('hex').slice(0, 16);
      const call: cr.AwsSdkCall = {
        service: 'DynamoDB',
        action: 'UpdateTable',
        parameters: { TableName: table.tableName, DeletionProtectionEnabled: true },
        physicalResourceId: cr.PhysicalResourceId.of(`${description.id}-deletion-protection-${digest}`),
      };
      this.resources.push(
        new cr.AwsCustomResource(this, pascal(description.id), {
          onCreate: call,
          onUpdate: call,
          policy: cr.AwsCustomResourcePolicy.fromStatements([
            new iam.PolicyStatement({ actions: ['dynamodb:UpdateTable'], resources: [table.tableArn] }),
          ]),
          installLatestAwsSdk: false,
          logGroup,
          resourceType: 'Custom::TableDeletionProtection',
        }),
      );
    }
  }

  /** Makes every resource here wait for every other resource of the stack (call once all are created). */
  dependOnEverythingElse(stack: IConstruct): void {
    const provider = stack.node.tryFindChild(PROVIDER_ID);
    for (const child of stack.node.children) {
      if (child === this || child === provider) continue;
      for (const resource of this.resources) resource.node.addDependency(child);
    }
  }
}

/** The construct id of AwsCustomResource's singleton provider function (aws-cdk-lib's own constant). */
const PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}
