#!/usr/bin/env bash
# The seed's baseline made the plain way: one aws CLI call after another,
# no checks, no concurrency. The peer of BenchmarkBootstrapApply; it expects
# the endpoint and credentials in the environment and a stack name in $1.
set -euo pipefail
n="$1"
q() { aws "$@" --output text; }
vpc=$(q ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId --tag-specifications "ResourceType=vpc,Tags=[{Key=Name,Value=$n-vpc}]")
aws ec2 modify-vpc-attribute --vpc-id "$vpc" --enable-dns-support '{"Value":true}'
aws ec2 modify-vpc-attribute --vpc-id "$vpc" --enable-dns-hostnames '{"Value":true}'
igw=$(q ec2 create-internet-gateway --query InternetGateway.InternetGatewayId)
aws ec2 attach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc"
pub1=$(q ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
pub2=$(q ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.2.0/24 --availability-zone us-east-1b --query Subnet.SubnetId)
priv1=$(q ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.101.0/24 --availability-zone us-east-1a --query Subnet.SubnetId)
priv2=$(q ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.102.0/24 --availability-zone us-east-1b --query Subnet.SubnetId)
aws ec2 modify-subnet-attribute --subnet-id "$pub1" --map-public-ip-on-launch
aws ec2 modify-subnet-attribute --subnet-id "$pub2" --map-public-ip-on-launch
pubrt=$(q ec2 create-route-table --vpc-id "$vpc" --query RouteTable.RouteTableId)
aws ec2 create-route --route-table-id "$pubrt" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw" >/dev/null
aws ec2 associate-route-table --route-table-id "$pubrt" --subnet-id "$pub1" >/dev/null
aws ec2 associate-route-table --route-table-id "$pubrt" --subnet-id "$pub2" >/dev/null
privrt=$(q ec2 create-route-table --vpc-id "$vpc" --query RouteTable.RouteTableId)
aws ec2 associate-route-table --route-table-id "$privrt" --subnet-id "$priv1" >/dev/null
aws ec2 associate-route-table --route-table-id "$privrt" --subnet-id "$priv2" >/dev/null
sg=$(q ec2 create-security-group --group-name "$n-server-sg" --description "AutoNote API" --vpc-id "$vpc" --query GroupId)
aws ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 3000 --cidr 0.0.0.0/0 >/dev/null
app=$(q secretsmanager create-secret --name "$n/env" --secret-string '{}' --query ARN)
key=$(q secretsmanager create-secret --name "$n/api-key" --secret-string "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" --query ARN)
role=$(q iam create-role --role-name "$n-exec" --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}' --query Role.Arn)
aws iam attach-role-policy --role-name "$n-exec" --policy-arn arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
aws iam put-role-policy --role-name "$n-exec" --policy-name read-app-secrets --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"secretsmanager:GetSecretValue\",\"Resource\":[\"$app\",\"$key\"]}]}"
repo=$(q ecr create-repository --repository-name "$n/server" --image-tag-mutability IMMUTABLE --image-scanning-configuration scanOnPush=true --query repository.repositoryUri)
aws ecr put-lifecycle-policy --repository-name "$n/server" --lifecycle-policy-text '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}' >/dev/null
aws logs create-log-group --log-group-name "/ecs/$n-task"
aws logs put-retention-policy --log-group-name "/ecs/$n-task" --retention-in-days 30
aws ecs create-cluster --cluster-name "$n-cluster" >/dev/null
aws ecs put-cluster-capacity-providers --cluster "$n-cluster" --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1 >/dev/null
td=$(q ecs register-task-definition --family "$n-task" --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 --execution-role-arn "$role" \
	--container-definitions "[{\"name\":\"server\",\"image\":\"$repo:bootstrap-placeholder\",\"essential\":true,\"portMappings\":[{\"containerPort\":3000}],\"secrets\":[{\"name\":\"APP_ENV_JSON\",\"valueFrom\":\"$app\"},{\"name\":\"API_KEY\",\"valueFrom\":\"$key\"}],\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"/ecs/$n-task\",\"awslogs-region\":\"us-east-1\",\"awslogs-stream-prefix\":\"ecs\"}}}]" \
	--query taskDefinition.taskDefinitionArn)
aws ecs create-service --cluster "$n-cluster" --service-name "$n-service" --task-definition "$td" --desired-count 0 --launch-type FARGATE \
	--network-configuration "awsvpcConfiguration={subnets=[$pub1,$pub2],securityGroups=[$sg],assignPublicIp=ENABLED}" \
	--deployment-configuration "deploymentCircuitBreaker={enable=true,rollback=true}" >/dev/null
