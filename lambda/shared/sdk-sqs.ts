// The part of @aws-sdk/client-sqs the functions use, for their dynamic imports (lambda/shared/sdk-s3.ts says why).
export { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
