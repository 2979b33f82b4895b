// The part of @aws-sdk/client-dynamodb the functions use, for their dynamic imports (lambda/shared/sdk-s3.ts says why).
export { DynamoDBClient, DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
