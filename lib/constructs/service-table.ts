// One DynamoDB table exactly as shared/infra/resources.ts describes it (keys, GSIs, TTL), with the
// defaults the data deserves: on-demand, point-in-time recovery, encryption, retained on stack deletion.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyDescription, TableDescription } from '../../shared/infra/resources.ts';

export interface ServiceTableProps {
  readonly description: TableDescription;
  /** Physical table name (`<prefix>-<id>`, as the local runtime names it). */
  readonly tableName: string;
  /**
   * What happens to the table and its data when it leaves the stack. `DESTROY` also drops deletion
   * protection; use it only for throwaway stages.
   * @default RemovalPolicy.RETAIN
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
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
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
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
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
